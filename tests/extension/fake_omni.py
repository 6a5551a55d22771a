"""Small stand-ins for the omni.* modules the Kit extension imports (no Kit here).

They keep what the tests look at: the widgets built (with their text and callbacks), the
menu entries added/removed, and the stage ``omni.usd.get_context().get_stage()`` returns.
"""

from __future__ import annotations

import types


class _Model:
    def __init__(self):
        self.value = ""

    def set_value(self, value):
        self.value = value

    def get_value_as_string(self) -> str:
        return str(self.value)

    def get_value_as_int(self) -> int:
        return int(self.value or 0)


class _Widget:
    def __init__(self, registry, text="", **kwargs):
        self.text = text
        self.kwargs = kwargs
        self.clicked_fn = kwargs.get("clicked_fn")
        self.model = _Model()
        registry.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def make_modules(stage_holder: dict) -> dict[str, types.ModuleType]:
    """Fake ``omni``, ``omni.ext``, ``omni.ui``, ``omni.usd``, ``omni.kit``, ``omni.kit.menu``,
    ``omni.kit.menu.utils``; ``stage_holder["stage"]`` is the open stage."""
    omni = types.ModuleType("omni")
    ext = types.ModuleType("omni.ext")
    ui = types.ModuleType("omni.ui")
    usd = types.ModuleType("omni.usd")
    kit = types.ModuleType("omni.kit")
    menu = types.ModuleType("omni.kit.menu")
    utils = types.ModuleType("omni.kit.menu.utils")

    class IExt:
        def on_startup(self, ext_id):
            pass

        def on_shutdown(self):
            pass

    ext.IExt = IExt

    ui.widgets = []
    ui.windows = []

    class Window(_Widget):
        def __init__(self, title, **kwargs):
            super().__init__(ui.windows, title, **kwargs)
            self.title = title
            self.visible = kwargs.get("visible", True)
            self.frame = _Widget([])
            self.destroyed = False

        def destroy(self):
            self.destroyed = True

    ui.Window = Window
    for name in ("VStack", "HStack", "Label", "Button", "StringField", "IntField"):
        ui.__dict__[name] = type(name, (_Widget,), {"__init__": lambda self, text="", **kw: _Widget.__init__(
            self, ui.widgets, text, **kw)})

    class _Context:
        def get_stage(self):
            return stage_holder["stage"]

    usd.get_context = lambda: _Context()

    utils.menus = {}

    class MenuItemDescription:
        def __init__(self, name="", onclick_fn=None, **kwargs):
            self.name = name
            self.onclick_fn = onclick_fn

    def add_menu_items(items, name, *args, **kwargs):
        utils.menus.setdefault(name, []).extend(items)

    def remove_menu_items(items, name, *args, **kwargs):
        utils.menus[name] = [i for i in utils.menus.get(name, []) if i not in items]

    utils.MenuItemDescription = MenuItemDescription
    utils.add_menu_items = add_menu_items
    utils.remove_menu_items = remove_menu_items

    omni.ext, omni.ui, omni.usd, omni.kit = ext, ui, usd, kit
    kit.menu = menu
    menu.utils = utils
    return {"omni": omni, "omni.ext": ext, "omni.ui": ui, "omni.usd": usd, "omni.kit": kit,
            "omni.kit.menu": menu, "omni.kit.menu.utils": utils}
