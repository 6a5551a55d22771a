"""Text to image: a tiny random Stable Diffusion pipeline saved to disk and loaded the user's way.

FLUX / Qwen-Image / Cosmos-Predict2 load through the same ``DiffusionPipeline.from_pretrained``
path; Stable Diffusion is used here because its CLIP tokenizer can be built offline from a
23-token vocabulary (FLUX also needs a T5 SentencePiece model, which cannot be made here
without a download).
"""

from __future__ import annotations

import json

import pytest
import torch

transformers = pytest.importorskip("transformers")
diffusers = pytest.importorskip("diffusers")

from lyra_sim.errors import InvalidInputError, MissingWeightsError
from lyra_sim.teachers.text2image import TextToImage, TextToImageCfg

VOCAB = ["l", "o", "w", "e", "r", "s", "t", "i", "d", "n", "lo", "l</w>", "w</w>", "r</w>", "t</w>", "low</w>",
         "er</w>", "lowest</w>", "newer</w>", "wider", "<unk>", "<|startoftext|>", "<|endoftext|>"]


@pytest.fixture(scope="module")
def tiny_pipeline_dir(tmp_path_factory):
    """A ~60k-parameter StableDiffusionPipeline (UNet, VAE, CLIP text encoder, tokenizer, DDIM)."""
    root = tmp_path_factory.mktemp("t2i")
    (root / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(VOCAB)}))
    (root / "merges.txt").write_text("#version: 0.2\nl o\nlo w</w>\ne r</w>\n")
    tokenizer = transformers.CLIPTokenizer(str(root / "vocab.json"), str(root / "merges.txt"), model_max_length=16)
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, norm_num_groups=4, attention_head_dim=4,
    )
    vae = diffusers.AutoencoderKL(
        block_out_channels=(8, 16), in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=4, sample_size=16,
    )
    text_encoder = transformers.CLIPTextModel(transformers.CLIPTextConfig(
        bos_token_id=21, eos_token_id=22, pad_token_id=22, hidden_size=16, intermediate_size=32, num_attention_heads=2,
        num_hidden_layers=2, vocab_size=len(VOCAB), max_position_embeddings=16, projection_dim=16,
    ))
    pipe = diffusers.StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=diffusers.DDIMScheduler(clip_sample=False),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(root / "pipe")
    return root / "pipe"


def test_prompt_to_image_from_a_local_folder(tiny_pipeline_dir, monkeypatch):
    import huggingface_hub

    def no_download(*a, **k):
        raise AssertionError("tried to download")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_download)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_download)
    t2i = TextToImage.from_pretrained(tiny_pipeline_dir, num_inference_steps=2, guidance_scale=3.0, device="cpu")
    assert t2i.name == "StableDiffusionPipeline"
    image = t2i("a lower tree", height=32, width=48, seed=1)
    assert image.shape == (3, 32, 48) and image.dtype == torch.float32
    assert image.min() >= 0 and image.max() <= 1 and image.std() > 0
    assert torch.equal(image, t2i("a lower tree", height=32, width=48, seed=1))  # seeded
    assert not torch.equal(image, t2i("a lower tree", height=32, width=48, seed=2))


def test_options_a_pipeline_does_not_take_are_not_passed(tiny_pipeline_dir):
    calls = {}

    class Recorder:
        _execution_device = torch.device("cpu")

        def __call__(self, prompt, height, width, output_type, generator, num_inference_steps=50):
            calls.update(prompt=prompt, steps=num_inference_steps)
            return type("Out", (), {"images": torch.full((1, height, width, 3), 0.25)})()

    t2i = TextToImage(Recorder(), TextToImageCfg(path="unused", num_inference_steps=4, guidance_scale=0.0))
    image = t2i("x", height=8, width=12)
    assert calls == {"prompt": "x", "steps": 4} and image.shape == (3, 8, 12)  # [H, W, 3] output transposed
    with pytest.raises(InvalidInputError):
        t2i("  ", height=8, width=8)


def test_missing_folder_names_the_layout(tmp_path):
    with pytest.raises(MissingWeightsError) as err:
        TextToImage.from_pretrained(tmp_path / "flux")
    msg = str(err.value)
    assert "model_index.json" in msg and "FLUX.1-schnell" in msg and "never downloads" in msg


def test_missing_component_folder_is_named(tiny_pipeline_dir, tmp_path):
    (tmp_path / "model_index.json").write_text((tiny_pipeline_dir / "model_index.json").read_text())
    with pytest.raises(MissingWeightsError, match="unet"):
        TextToImage.from_pretrained(tmp_path)
    with pytest.raises(InvalidInputError, match="unknown"):
        TextToImage.from_pretrained(tmp_path, steps=3)
