"""GEN3C teacher on CPU: tiny random DiT/VAE saved with save_pretrained and loaded the user's way,
the sampler's input layout, chunking, cached T5 embeddings, the checkpoint converter, missing weights."""

from __future__ import annotations

import json
import re

import pytest
import torch

diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")

from lyra_sim.errors import InvalidInputError, MissingWeightsError, OutputExistsError
from lyra_sim.teachers import Teacher, TeacherRequest
from lyra_sim.teachers.cache3d import Cache3D
from lyra_sim.teachers.depth import DepthEstimate, intrinsics_from_fov
from lyra_sim.teachers.gen3c import Gen3CTeacher, align_depth_affine, load_transformer
from lyra_sim.teachers.gen3c_convert import convert_gen3c_checkpoint
from lyra_sim.teachers.gen3c_sampler import Gen3CSamplerCfg, make_scheduler

TINY_DIT = {"in_channels": 82, "out_channels": 16, "num_attention_heads": 2, "attention_head_dim": 12, "num_layers": 2,
                "text_embed_dim": 32, "adaln_lora_dim": 8, "max_size": (8, 32, 32), "concat_padding_mask": False}
TINY_VAE = {"encoder_block_out_channels": (16, 32, 32, 32), "decode_block_out_channels": (32, 32, 32, 32), "num_layers": 1,
                "attention_resolutions": ()}
H = W = 32


class ConstantDepth:
    """A depth 'estimator' that sees a fronto-parallel plane at ``depth``; counts its calls."""

    name = "constant"
    is_metric = True

    def __init__(self, depth: float = 2.0):
        self.depth, self.calls = depth, 0

    def estimate(self, image):
        self.calls += 1
        h, w = image.shape[-2:]
        return DepthEstimate(torch.full((h, w), self.depth), torch.ones(h, w, dtype=torch.bool),
                             intrinsics_from_fov(60.0, h, w), True, False)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen3c")
    torch.manual_seed(0)
    diffusers.CosmosTransformer3DModel(**TINY_DIT).save_pretrained(root / "transformer")
    diffusers.AutoencoderKLCosmos(**TINY_VAE).save_pretrained(root / "vae")
    return root


def _image(seed=0):
    g = torch.Generator().manual_seed(seed)
    # smooth colours: a random image upsampled, so the warped frames carry structure
    return torch.nn.functional.interpolate(torch.rand(1, 3, 4, 4, generator=g), size=(H, W), mode="bilinear")[0]


def _teacher(weights, **options):
    options = {"text_encoder": "zeros", "text_max_length": 16, "num_steps": 2, **options}
    return Gen3CTeacher.from_pretrained(weights, device="cpu", depth_estimator=options.pop("depth", ConstantDepth()), **options)


def _request(**kw):
    return TeacherRequest(image=_image(), trajectories=kw.pop("trajectories", ("left", "zoom_in")),
                          num_frames=kw.pop("num_frames", 9), width=W, height=H, **kw)


def test_generate_returns_the_protocol_shapes(weights):
    teacher = _teacher(weights)
    assert isinstance(teacher, Teacher) and teacher.name == "gen3c"
    out = teacher.generate(_request(seed=3))
    assert [v.name for v in out.trajectories] == ["left", "zoom_in"]
    assert out.codec == "cosmos-cv8x8x8" and out.depth_is_metric
    for v in out.trajectories:
        assert v.frames.shape == (9, 3, H, W) and v.frames.dtype == torch.float32
        assert 0 <= v.frames.min() and v.frames.max() <= 1 and v.frames.std() > 0
        assert len(v.cameras) == 9 and (v.cameras.width, v.cameras.height) == (W, H)
        assert torch.allclose(v.cameras.c2w[0], torch.eye(4), atol=1e-6)  # starts at the input camera
        assert v.latents.shape == (16, 2, 4, 4)
        assert v.depth.shape == (9, H, W)
        # the input camera sees the whole plane at depth 2; later cameras see it from elsewhere
        assert torch.allclose(v.depth[0], torch.full((H, W), 2.0), atol=1e-4)
        assert (v.depth[-1] > 0).float().mean() > 0.5 and not torch.equal(v.depth[-1], v.depth[0])
    # the returned latents are those the frames were decoded from
    v = out.trajectories[0]
    decoded = teacher.codec.decode(v.latents[None])[0].permute(1, 0, 2, 3)
    assert torch.allclose(((decoded + 1) / 2).clamp(0, 1), v.frames, atol=1e-5)
    again = teacher.generate(_request(seed=3, trajectories=("left",)))
    assert torch.equal(again.trajectories[0].frames, out.trajectories[0].frames)  # seeded
    other = teacher.generate(_request(seed=4, trajectories=("left",)))
    assert not torch.equal(other.trajectories[0].frames, out.trajectories[0].frames)


def test_dit_input_is_gen3c_channel_layout(weights):
    """82 channels in GEN3C's order: x_t, first-frame indicator, buf0 rgb, buf0 mask, buf1 (zeros), padding."""
    teacher = _teacher(weights, num_steps=2, guidance=1.0, foreground_masking=False)
    calls = []
    hook = teacher.transformer.register_forward_pre_hook(lambda m, a, kw: calls.append(kw), with_kwargs=True)
    try:
        out = teacher.generate(_request(trajectories=("right",), num_frames=9))
    finally:
        hook.remove()
    assert len(calls) == 4  # 2 steps x (cond + uncond): guidance 1 runs both passes, as GEN3C does
    cams = out.trajectories[0].cameras
    cache = Cache3D(teacher.input_image(_request()), torch.full((H, W), 2.0), intrinsics_from_fov(60.0, H, W), cfg=teacher.cfg.cache)
    warped = cache.render(cams)
    codec = teacher.codec

    def enc(video):
        return codec.normalize_latents(codec.encode(video))

    rgb = enc(warped.frames.permute(1, 0, 2, 3)[None] * 2 - 1)
    mask = enc((warped.masks.float() * 2 - 1)[None, None].expand(1, 3, -1, -1, -1))
    cond, uncond = calls[0]["condition_mask"], calls[1]["condition_mask"]
    assert cond.shape == (1, 66, 2, 4, 4) and calls[0]["hidden_states"].shape == (1, 16, 2, 4, 4)
    assert cond.shape[1] + 16 == teacher.transformer.config.in_channels == 82
    assert torch.equal(cond[:, 0, 0], torch.ones(1, 4, 4)) and torch.equal(cond[:, 0, 1:], torch.zeros(1, 1, 4, 4))
    assert torch.allclose(cond[:, 1:17], rgb, atol=1e-5)
    assert torch.allclose(cond[:, 17:33], mask, atol=1e-5)
    assert not torch.allclose(cond[:, 1:17], cond[:, 17:33])
    assert torch.equal(cond[:, 33:], torch.zeros_like(cond[:, 33:]))  # no second buffer, zero padding mask
    assert torch.equal(uncond[:, 0], cond[:, 0]) and torch.equal(uncond[:, 1:], torch.zeros_like(uncond[:, 1:]))
    assert calls[0]["fps"] == 24 and calls[0]["padding_mask"] is None
    sched = make_scheduler(Gen3CSamplerCfg(num_steps=2))
    sched.set_timesteps(2)
    assert torch.allclose(calls[0]["timestep"], 0.25 * torch.log(sched.sigmas[:1]))
    # first-frame conditioning: latent frame 0 of the input is the image latent (+0.001 noise) scaled by c_in(sigma)
    first = torch.zeros(1, 3, 9, H, W)
    first[0, :, 0] = teacher.input_image(_request()) * 2 - 1
    c_in = 1 / (sched.sigmas[0] ** 2 + 0.25) ** 0.5
    c_in_aug = 1 / (0.001**2 + 0.25) ** 0.5
    assert torch.allclose(calls[0]["hidden_states"][:, :, 0], enc(first)[:, :, 0] * c_in_aug, atol=1e-2)
    assert calls[0]["hidden_states"][:, :, 1].abs().mean() > 0.5  # noise there, scaled to unit variance

    teacher.cfg.sampler.guidance = 0.0
    calls.clear()
    hook = teacher.transformer.register_forward_pre_hook(lambda m, a, kw: calls.append(kw), with_kwargs=True)
    try:
        teacher.generate(_request(trajectories=("right",), num_frames=9))
    finally:
        hook.remove()
    assert len(calls) == 2  # guidance 0: cond only
    assert c_in > 0


def test_long_trajectories_are_chunked_with_one_frame_overlap(weights):
    depth = ConstantDepth()
    teacher = _teacher(weights, depth=depth, chunk_frames=9)
    assert teacher.chunk_starts(17) == [0, 8] and teacher.chunk_starts(9) == [0] and teacher.chunk_starts(1) == [0]
    with pytest.raises(InvalidInputError, match="k \\* 8 \\+ 1"):
        teacher.chunk_starts(21)
    with pytest.raises(InvalidInputError, match="8k \\+ 1"):
        teacher.chunk_starts(7)
    out = teacher.generate(_request(trajectories=("left",), num_frames=17))
    v = out.trajectories[0]
    assert v.frames.shape == (17, 3, H, W) and v.depth.shape == (17, H, W) and len(v.cameras) == 17
    assert v.latents.shape == (16, 3, 4, 4)
    assert depth.calls == 2  # the input image, then the last frame of chunk 1 (GEN3C's cache update)


def test_affine_depth_alignment_recovers_inverse_depth_map():
    ref = torch.linspace(1, 4, 400).reshape(20, 20)
    est = 1 / (0.5 / ref + 0.2)  # inverse depth off by an affine map
    valid = torch.ones(20, 20, dtype=torch.bool)
    aligned = align_depth_affine(est, valid, ref, valid)
    assert torch.allclose(aligned, ref, rtol=1e-4)


def _tiny_t5(folder):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from tokenizers.processors import TemplateProcessing

    words = ["<pad>", "</s>", "<unk>"] + sorted(set(re.findall(r"\w+|[^\w\s]", "a red chair in a room " + _negative())))
    tok = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = Whitespace()
    tok.post_processor = TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>").save_pretrained(folder)
    cfg = transformers.T5Config(vocab_size=len(words), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=2)
    torch.manual_seed(0)
    transformers.T5EncoderModel(cfg).save_pretrained(folder)


def _negative():
    from lyra_sim.teachers.gen3c_text import COSMOS_NEGATIVE_PROMPT

    return COSMOS_NEGATIVE_PROMPT


def test_t5_is_loaded_only_for_prompts_not_cached(weights, tmp_path):
    encoder, cache = tmp_path / "t5", tmp_path / "emb"
    _tiny_t5(encoder)
    opts = {"text_encoder": "t5", "text_encoder_path": str(encoder), "text_embedding_dir": str(cache), "text_max_length": 16}
    teacher = _teacher(weights, **opts)
    out = teacher.generate(_request(trajectories=("up",), num_frames=9))
    assert teacher.text_embeddings.encoder_loads == 2  # "" and the negative prompt; T5 freed after each
    assert len(list(cache.glob("*.pt"))) == 2
    empty = teacher.text_embeddings("")
    assert empty.shape == (16, 32) and empty[0].abs().sum() > 0 and torch.equal(empty[1:], torch.zeros(15, 32))  # "</s>" only
    neg = teacher.text_embeddings(_negative())
    assert neg.abs().sum(dim=1).gt(0).all()  # the long negative prompt fills all 16 tokens (truncated)

    for f in encoder.iterdir():  # T5 gone: the cached prompts still work
        f.unlink()
    again = _teacher(weights, **opts)
    out2 = again.generate(_request(trajectories=("up",), num_frames=9))
    assert again.text_embeddings.encoder_loads == 0
    assert torch.equal(out.trajectories[0].frames, out2.trajectories[0].frames)
    with pytest.raises(MissingWeightsError, match="text_encoder"):
        _teacher(weights, use_prompt=True, **opts).generate(_request(prompt="a red chair", trajectories=("up",), num_frames=9))


# ---------------------------------------------------------------- converter

def _original_dit_key(k: str) -> str:
    """diffusers name -> cosmos_predict1 name, written independently of the converter's table."""
    top = {
        "patch_embed.proj.weight": "x_embedder.proj.1.weight", "time_embed.norm.weight": "affline_norm.weight",
        "proj_out.weight": "final_layer.linear.weight",
    }
    if k in top:
        return "net." + top[k]
    for a, b in (("time_embed.t_embedder.", "t_embedder.1."), ("learnable_pos_embed.", "extra_pos_embedder."),
                 ("norm_out.linear_", "final_layer.adaLN_modulation.")):
        if k.startswith(a):
            return "net." + b + k[len(a):]
    n, rest = re.match(r"transformer_blocks\.(\d+)\.(.+)", k).groups()
    sub = {"attn1": "0", "attn2": "1"}
    m = re.match(r"(attn[12])\.(to_[qkv]|to_out\.0|norm_[qk])\.weight", rest)
    if m:
        att, what = m.groups()
        what = {"norm_q": "to_q.1", "norm_k": "to_k.1", "to_out.0": "to_out.0"}.get(what, what + ".0")
        rest = f"blocks.{sub[att]}.block.attn.{what}.weight"
    elif rest.startswith("norm"):
        i, j = re.match(r"norm(\d)\.linear_(\d)\.weight", rest).groups()
        rest = f"blocks.{int(i) - 1}.adaLN_modulation.{j}.weight"
    else:
        rest = {"ff.net.0.proj.weight": "blocks.2.block.layer1.weight", "ff.net.2.weight": "blocks.2.block.layer2.weight"}[rest]
    return f"net.blocks.block{n}.{rest}"


def _original_vae_key(k: str) -> str:
    k = k.replace("mid_block.resnets.0", "mid.block_1").replace("mid_block.resnets.1", "mid.block_2")
    k = k.replace("mid_block.attentions.0", "mid.attn_1.0").replace("mid_block.temp_attentions.0", "mid.attn_1.1")
    k = re.sub(r"down_blocks\.(\d)", r"down.\1", k)
    k = re.sub(r"up_blocks\.(\d)", lambda m: f"up.{2 - int(m.group(1))}", k)
    k = k.replace(".resnets.", ".block.").replace("downsamplers.0", "downsample").replace("upsamplers.0", "upsample")
    k = re.sub(r"\.to_([qkv])\.", r".\1.conv3d.", k).replace(".to_out.0.", ".proj_out.conv3d.")
    k = k.replace(".conv_s.", ".0.conv3d.").replace(".conv_t.", ".1.conv3d.")
    k = re.sub(r"\.(conv[123])\.(weight|bias)$", r".\1.conv3d.\2", k)
    k = k.replace("conv_shortcut.", "nin_shortcut.conv3d.")
    return re.sub(r"^(post_quant_conv|quant_conv)\.", r"\1.conv3d.", k)


class _Root(torch.nn.Module):
    def forward(self, x):
        return x


def _jit_with_keys(state: dict, path):
    root = _Root()
    for key, value in state.items():
        *parents, leaf = key.split(".")
        m = root
        for p in parents:
            if p not in m._modules:
                m.add_module(p, torch.nn.Module())
            m = m._modules[p]
        m.register_buffer(leaf, value.clone())
    torch.jit.trace(root, torch.zeros(1)).save(str(path))


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A fabricated GEN3C release (original key names) and the tiny models it must convert to."""
    root = tmp_path_factory.mktemp("release")
    torch.manual_seed(1)
    dit = diffusers.CosmosTransformer3DModel(**TINY_DIT)
    vae = diffusers.AutoencoderKLCosmos(**TINY_VAE)
    net = {_original_dit_key(k): v.clone() for k, v in dit.state_dict().items()}
    assert len(net) == len(dit.state_dict())
    net.update({"logvar.0.freqs": torch.randn(8), "logvar.0.phases": torch.randn(8), "logvar.1.weight": torch.randn(1, 8),
                "net.pos_embedder.seq": torch.arange(16.0), "net.accum_iteration": torch.tensor(7)})
    (root / "Gen3C-Cosmos-7B").mkdir()
    torch.save({"model": net}, root / "Gen3C-Cosmos-7B" / "model.pt")
    tok = root / "Cosmos-Tokenize1-CV8x8x8-720p"
    tok.mkdir()
    orig_vae = {_original_vae_key(k): v for k, v in vae.state_dict().items()}
    orig_vae["encoder.patcher3d.wavelets"] = torch.randn(2)
    _jit_with_keys(orig_vae, tok / "autoencoder.jit")
    mean, std = torch.randn(256), torch.rand(256) + 0.5
    torch.save((mean, std), tok / "mean_std.pt")
    return root, dit, vae, (mean, std)


def _tiny_vae_config():
    from lyra_sim.teachers.gen3c_convert import COSMOS_CV8X8X8_VAE_CONFIG

    return {**COSMOS_CV8X8X8_VAE_CONFIG, **TINY_VAE}


def test_converter_round_trip_and_teacher_loads_it(released, tmp_path):
    src, dit, vae, (mean, std) = released
    out = convert_gen3c_checkpoint(src, tmp_path / "gen3c", vae_config=_tiny_vae_config(), trust_torchscript=True)
    t2 = load_transformer(out / "transformer", torch.float32)  # diffusers' from_pretrained needs accelerate here
    assert t2.config.in_channels == 82 and not t2.config.concat_padding_mask and tuple(t2.config.rope_scale) == (2.0, 1.0, 1.0)
    assert tuple(t2.config.max_size) == (8, 32, 32) and t2.config.num_layers == 2 and t2.config.attention_head_dim == 12
    for k, v in dit.state_dict().items():
        assert torch.equal(t2.state_dict()[k], v), k
    v2 = diffusers.AutoencoderKLCosmos.from_pretrained(out / "vae", local_files_only=True)
    for k, v in vae.state_dict().items():
        assert torch.equal(v2.state_dict()[k], v), k
    assert torch.allclose(torch.tensor(v2.config.latents_mean), mean) and torch.allclose(torch.tensor(v2.config.latents_std), std)
    report = json.loads((out / "gen3c_conversion.json").read_text())
    assert sorted(report["transformer_dropped_keys"]) == sorted(
        ["logvar.0.freqs", "logvar.0.phases", "logvar.1.weight", "net.pos_embedder.seq", "net.accum_iteration"])
    assert report["vae_dropped_keys"] == ["encoder.patcher3d.wavelets"]
    teacher = _teacher(out)  # the converted folder is a teacher weights folder
    assert torch.equal(teacher.transformer.patch_embed.proj.weight, dit.patch_embed.proj.weight)
    assert teacher.codec.latents_mean.flatten()[:3].tolist() == pytest.approx(mean[:3].tolist())

    with pytest.raises(OutputExistsError):
        convert_gen3c_checkpoint(src, out, vae_config=_tiny_vae_config(), trust_torchscript=True)
    assert convert_gen3c_checkpoint(src, out, overwrite=True, vae_config=_tiny_vae_config(), trust_torchscript=True) == out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen3c"]  # no temporary folders left


def test_converter_refuses_unknown_keys_and_lists_them(released, tmp_path):
    src, *_ = released
    bad = tmp_path / "bad"
    (bad / "Gen3C-Cosmos-7B").mkdir(parents=True)
    (bad / "Cosmos-Tokenize1-CV8x8x8-720p").symlink_to(src / "Cosmos-Tokenize1-CV8x8x8-720p")
    state = torch.load(src / "Gen3C-Cosmos-7B" / "model.pt", weights_only=True)["model"]
    state["net.blocks.block0.blocks.0.block.attn.rotary.freqs"] = torch.zeros(2)
    state["net.camera_embedder.weight"] = torch.zeros(2)
    torch.save(state, bad / "Gen3C-Cosmos-7B" / "model.pt")
    with pytest.raises(InvalidInputError, match="2 key\\(s\\).*attn.rotary.freqs.*camera_embedder"):
        convert_gen3c_checkpoint(bad, tmp_path / "out", vae_config=_tiny_vae_config(), trust_torchscript=True)
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["bad"]


def test_converter_refuses_torchscript_unless_trusted(released, tmp_path, monkeypatch, capsys):
    from lyra_sim.cli import main

    src, *_ = released
    loaded = []
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: loaded.append(a) or pytest.fail("torch.jit.load was called"))
    with pytest.raises(InvalidInputError, match=r"autoencoder.jit is TorchScript: loading it runs code .* --trust-torchscript"):
        convert_gen3c_checkpoint(src, tmp_path / "out", vae_config=_tiny_vae_config())
    assert main(["convert-gen3c", str(src), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--trust-torchscript" in err and len(err.strip().splitlines()) == 1
    assert loaded == [] and sorted(p.name for p in tmp_path.iterdir()) == []  # nothing read, nothing written


def test_cli_convert_gen3c(released, tmp_path, capsys):
    from lyra_sim.cli import main

    src, *_ = released
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["convert-gen3c", str(empty), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lyra-sim convert-gen3c: error:") and "lacks model.pt, autoencoder.jit" in err
    assert "Gen3C-Cosmos-7B/model.pt" in err and not (tmp_path / "o").exists()
    out = tmp_path / "o"
    out.mkdir()
    assert main(["convert-gen3c", str(src), str(out)]) == 2  # exists, no --overwrite
    assert "already exists" in capsys.readouterr().err
    # --trust-torchscript reaches the tokenizer: the tiny test VAE then mismatches the real
    # CV8x8x8 config, a shape error about the tokenizer instead of the trust refusal.
    assert main(["convert-gen3c", str(src), str(out), "--overwrite", "--trust-torchscript"]) == 2
    err = capsys.readouterr().err
    assert "Cosmos tokenizer" in err and "autoencoder.jit" in err and "trust" not in err


# ---------------------------------------------------------------- missing weights

def test_missing_weights_name_the_layout(weights, tmp_path):
    with pytest.raises(MissingWeightsError, match="transformer/config.json.*vae/config.json.*convert-gen3c"):
        Gen3CTeacher.from_pretrained(tmp_path / "nowhere")
    partial = tmp_path / "partial"
    (partial / "transformer").mkdir(parents=True)
    for f in (weights / "transformer").iterdir():
        (partial / "transformer" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(MissingWeightsError, match="lacks vae/config.json, vae/diffusion_pytorch_model.safetensors"):
        Gen3CTeacher.from_pretrained(partial)
    with pytest.raises(MissingWeightsError, match="no depth estimator at .*depth"):
        Gen3CTeacher.from_pretrained(weights, text_encoder="zeros")
    with pytest.raises(MissingWeightsError, match="Gen3C-Cosmos-7B/model.pt"):
        convert_gen3c_checkpoint(tmp_path, tmp_path / "out")
    with pytest.raises(InvalidInputError, match="unknown GEN3C teacher option 'num_step'"):
        Gen3CTeacher.from_pretrained(weights, num_step=3)
    teacher = _teacher(weights)
    with pytest.raises(InvalidInputError, match="text2image_path"):
        teacher.generate(TeacherRequest(prompt="a room", num_frames=9, width=W, height=H))
