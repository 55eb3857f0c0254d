"""Blender side of the rendered sample clips (runs inside Blender's own Python, no numpy).

    blender -b --factory-startup --python samples/render_blender.py -- WORKDIR

WORKDIR/scene.json (written by samples/render.py) describes the persons (faces, per-corner
colours, a float32 file of pre-skinned vertices for every frame), the room, the camera path
and the lights.  Frames are written to WORKDIR/raw/NNNN.png.  Frames already rendered are
skipped, so an interrupted render can be resumed.
"""

from __future__ import annotations

import array
import contextlib
import json
import math
import os
import sys
import time

import bpy  # type: ignore[import-not-found]


def obj_to_blender(buf: array.array) -> array.array:
    """MakeHuman OBJ (dm, Y up, +Z toward camera) -> Blender (m, Z up, -Y toward camera)."""
    out = array.array("f", bytes(4 * len(buf)))
    out[0::3] = array.array("f", [x * 0.1 for x in buf[0::3]])
    out[1::3] = array.array("f", [-z * 0.1 for z in buf[2::3]])
    out[2::3] = array.array("f", [y * 0.1 for y in buf[1::3]])
    return out


def material(
    name: str,
    rgb: tuple[float, float, float] | None,
    rough: float = 0.6,
    vertex_colours: bool = False,
    sss: float = 0.0,
) -> bpy.types.Material:
    m = bpy.data.materials.new(name)
    m.use_nodes = True
    nt = m.node_tree
    p = nt.nodes["Principled BSDF"]
    p.inputs["Roughness"].default_value = rough
    if vertex_colours:
        a = nt.nodes.new("ShaderNodeVertexColor")
        a.layer_name = "Col"
        nt.links.new(a.outputs["Color"], p.inputs["Base Color"])
        if sss:
            p.inputs["Subsurface"].default_value = sss
            nt.links.new(a.outputs["Color"], p.inputs["Subsurface Color"])
            p.inputs["Subsurface Radius"].default_value = (0.01, 0.004, 0.002)
    elif rgb is not None:
        p.inputs["Base Color"].default_value = (*rgb, 1.0)
    return m


def box(name: str, center: list[float], size: list[float], rgb: list[float], rough: float = 0.7) -> None:
    bpy.ops.mesh.primitive_cube_add(size=1, location=center)
    o = bpy.context.active_object
    o.name = name
    o.scale = size
    o.data.materials.append(material(name + "_m", tuple(rgb), rough))


def track(obj: bpy.types.Object, target: list[float], sc: bpy.types.Scene) -> bpy.types.Object:
    t = bpy.data.objects.new(obj.name + "_target", None)
    sc.collection.objects.link(t)
    t.location = target
    c = obj.constraints.new("TRACK_TO")
    c.target = t
    c.track_axis = "TRACK_NEGATIVE_Z"
    c.up_axis = "UP_Y"
    return t


def main() -> None:
    work = sys.argv[sys.argv.index("--") + 1]
    with open(os.path.join(work, "scene.json")) as fh:
        S = json.load(fh)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    W, H = S["size"]
    sc.render.resolution_x, sc.render.resolution_y, sc.render.resolution_percentage = W, H, 100
    sc.render.engine = "BLENDER_EEVEE"
    sc.eevee.taa_render_samples = int(S.get("samples", 8))
    sc.eevee.use_soft_shadows = True
    sc.eevee.use_gtao = True
    sc.view_settings.view_transform = "Filmic"
    sc.view_settings.look = "None"
    sc.view_settings.exposure = float(S.get("exposure", 0.0))

    meshes = []
    for k, P in enumerate(S["persons"]):
        me = bpy.data.meshes.new(f"person{k}")
        with open(os.path.join(work, P["frames"]), "rb") as fh:
            co = array.array("f")
            co.frombytes(fh.read(P["nverts"] * 12))
        b = obj_to_blender(co)
        me.from_pydata([tuple(b[3 * i : 3 * i + 3]) for i in range(P["nverts"])], [], P["faces"])
        me.update()
        for poly in me.polygons:
            poly.use_smooth = True
        ca = me.color_attributes.new("Col", "FLOAT_COLOR", "CORNER")
        cols = array.array("f")
        with open(os.path.join(work, P["colours"]), "rb") as fh:
            cols.frombytes(fh.read())
        ca.data.foreach_set("color", cols)
        ob = bpy.data.objects.new(f"person{k}", me)
        sc.collection.objects.link(ob)
        ob.data.materials.append(material(f"skin{k}", None, rough=0.55, vertex_colours=True, sss=0.08))
        meshes.append((me, P))

    for b in S["room"]:
        box(b["name"], b["center"], b["size"], b["rgb"], b.get("rough", 0.7))

    C = S["camera"]
    cam = bpy.data.cameras.new("cam")
    cam.lens_unit = "FOV"
    cam.angle = math.radians(C["hfov_deg"])
    cam_ob = bpy.data.objects.new("cam", cam)
    sc.collection.objects.link(cam_ob)
    sc.camera = cam_ob
    cam_ob.location = C["path"][0]
    track(cam_ob, C["look_at"], sc)

    L = S["lights"]
    lights = {}
    for spec in L["area"]:
        lt = bpy.data.lights.new(spec["name"], "AREA")
        lt.energy = spec["energy"]
        lt.color = spec["rgb"]
        lt.size = spec["size"]
        o = bpy.data.objects.new(spec["name"], lt)
        sc.collection.objects.link(o)
        o.location = spec["loc"]
        track(o, [0.0, 0.0, 0.6], sc)
        lights[spec["name"]] = (lt, spec["energy"])
    world = bpy.data.worlds.new("world")
    sc.world = world
    world.use_nodes = True
    bg = world.node_tree.nodes["Background"]
    bg.inputs["Color"].default_value = (*L["ambient_rgb"], 1.0)
    bg.inputs["Strength"].default_value = L["ambient"]

    raw = os.path.join(work, "raw")
    os.makedirs(raw, exist_ok=True)
    t0 = time.time()
    with contextlib.ExitStack() as stack:
        handles = [(me, P, stack.enter_context(open(os.path.join(work, P["frames"]), "rb"))) for me, P in meshes]
        for f in range(S["nframes"]):
            out = os.path.join(raw, f"{f:04d}.png")
            bufs = []
            for _me, P, fh in handles:
                a = array.array("f")
                a.frombytes(fh.read(P["nverts"] * 12))
                bufs.append(a)
            if os.path.exists(out):
                continue
            for (me, _P, _fh), a in zip(handles, bufs, strict=True):
                me.vertices.foreach_set("co", obj_to_blender(a))
                me.update()
            cam_ob.location = C["path"][f]
            for lt, e in lights.values():
                lt.energy = e * L["scale"][f]
            sc.render.filepath = out
            bpy.ops.render.render(write_still=True)
            print(f"FRAME {f + 1}/{S['nframes']} {time.time() - t0:.1f}s", flush=True)


main()
