import numpy as np
import pytest

from texgen import devices
from texgen.errors import ModelError
from texgen.model import load_generator


def test_loads_every_family(models):
    for path, kind, latent, channels in [
        (models.vector_rgb, "texture", "vector", 3),
        (models.vector_grey, "heightmap", "vector", 1),
        (models.spatial_rgb, "texture", "spatial", 3),
        (models.spatial_height, "heightmap", "spatial", 1),
    ]:
        gen = load_generator(path, device="cpu")
        assert (gen.info.kind, gen.info.latent_kind, gen.info.channels) == (kind, latent, channels)
        assert gen.device == "cpu" and gen.provider == "CPUExecutionProvider" and not gen.guesses
    cond = load_generator(models.conditional, device="cpu")
    assert cond.info.classes == ("gravel", "brick", "grass")


def test_plain_onnx_is_loaded_with_reported_guesses(models):
    gen = load_generator(models.plain_vector, device="cpu")
    assert gen.info.kind == "texture" and gen.info.native_height == 16 and gen.guesses
    spatial = load_generator(models.plain_spatial, device="cpu")
    assert spatial.info.spatial and spatial.info.pixels_per_cell == 4
    assert any("measured" in g for g in spatial.guesses)


def test_auto_falls_back_to_cpu_when_a_listed_gpu_cannot_start(models):
    gen = load_generator(models.vector_rgb, device="auto")
    if "cuda" in devices.available_devices() and gen.device == "cpu":
        # onnxruntime-gpu lists CUDA here but it cannot start: the fallback is reported, aloud
        # only where an NVIDIA driver is installed (elsewhere a CPU machine is no news).
        said = gen.runtime.notes if devices.driver_present("cuda") else gen.runtime.quiet_notes
        assert any("cuda" in n for n in said)
    assert gen.run(np.zeros((1, 8), np.float32)).shape == (1, 3, 16, 16)


@pytest.mark.parametrize("driver", [True, False])
def test_a_gpu_that_cannot_start_is_news_only_where_its_driver_is_installed(
    models, monkeypatch, tmp_path, capsys, driver
):
    """onnxruntime-gpu, the default install on Linux and Windows, lists CUDA on every machine:
    each export on a CPU-only build machine said "cuda is listed but could not start". With
    an NVIDIA driver installed that is news (a missing cuDNN, say) and is said; without one it
    is said only by `texgen info`."""
    from texgen.cli import main as cli_main  # noqa: PLC0415

    real = devices.open_session
    # The process's providers, as the CLI below opens its own generators with them.
    monkeypatch.setattr(devices, "RUNTIME", devices.Providers(
        listed=lambda: ["cuda", "cpu"], driver_present=lambda device: driver,
        open=lambda model, device, threads: None if device == "cuda" else real(model, device, threads)))  # fmt: skip
    note = "cuda is listed but could not start (driver or libraries missing)"
    for _ in range(2):  # the first try, then the failure remembered
        gen = load_generator(models.vector_rgb, device="auto")
        assert gen.device == "cpu"
        assert (gen.runtime.notes, gen.runtime.quiet_notes) == (([note], []) if driver else ([], [note]))
    assert cli_main(["generate", "-m", str(models.vector_rgb), "-o", str(tmp_path / "out")]) == 0
    assert (f"note: {note}" in capsys.readouterr().err) == driver
    assert cli_main(["info", str(models.vector_rgb)]) == 0
    assert f"note        {note}" in capsys.readouterr().out


def test_explicit_missing_device_is_a_clear_error(models):
    missing = [d for d in ("cuda", "directml", "coreml") if d not in devices.available_devices()]
    for device in missing:
        with pytest.raises(ModelError, match=f"device '{device}' is not available"):
            load_generator(models.vector_rgb, device=device)
    if "cuda" in devices.available_devices() and load_generator(models.vector_rgb).device == "cpu":
        with pytest.raises(ModelError, match="could not start"):
            load_generator(models.vector_rgb, device="cuda")
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        load_generator(models.vector_rgb, device="tpu")


def test_threads_setting_is_used(models):
    gen = load_generator(models.vector_rgb, device="cpu", threads=1)
    options = gen.runtime.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
    assert (
        load_generator(models.vector_rgb, device="cpu").runtime.session.get_session_options().intra_op_num_threads == 0
    )  # all cores
    assert gen.run(np.zeros((2, 8), np.float32)).shape[0] == 2
    with pytest.raises(ModelError, match="threads"):
        load_generator(models.vector_rgb, device="cpu", threads=0)


@pytest.mark.parametrize(
    "make,words",
    [
        (lambda d, m: d / "missing.onnx", "does not exist"),
        (lambda d, m: d, "is a folder"),
        (lambda d, m: _write(d / "empty.onnx", b""), "is empty"),
        (lambda d, m: _write(d / "truncated.onnx", m.spatial_rgb.read_bytes()[:300]), "not a valid ONNX model"),
        (lambda d, m: _write(d / "picture.onnx", b"\x89PNG\r\n\x1a\n" + bytes(200)), "not a valid ONNX model"),
        (lambda d, m: m.not_generator, "not a generator texgen can run"),
    ],
)
def test_bad_model_files_are_refused_with_the_fix(tmp_path, models, make, words):
    with pytest.raises(ModelError, match=words) as err:
        load_generator(make(tmp_path, models), device="cpu")
    assert "\n" not in str(err.value)


def _write(path, data):
    path.write_bytes(data)
    return path


def _with_metadata(src, dst, **changes):
    """A copy of model `src` whose texgen.* metadata entries are changed (as strings)."""
    import onnx  # noqa: PLC0415

    model = onnx.load(src)
    for entry in model.metadata_props:
        key = entry.key.removeprefix("texgen.")
        if key in changes:
            entry.value = changes[key]
    onnx.save(model, dst)
    return dst


@pytest.mark.parametrize(
    "changes,words",
    [
        ({"native_height": "32", "native_width": "32"}, "output 'image' is 16x16 pixels, metadata says 32x32"),
        ({"latent_distribution": "uniform"}, "latent_distribution 'uniform' is not 'normal'"),
        ({"kind": "heightmap"}, "a heightmap has 1 channel, but channels is 3"),
    ],
)
def test_metadata_that_disagrees_with_the_graph_is_refused(tmp_path, models, changes, words):
    bad = _with_metadata(models.vector_rgb, tmp_path / "bad.onnx", **changes)
    with pytest.raises(ModelError, match=words):
        load_generator(bad, device="cpu")


def test_onnx_this_runtime_cannot_run_is_named_not_called_corrupt(tmp_path):
    """A valid ONNX file with an operator onnxruntime lacks (or a newer opset) is not corrupt:
    the message names the operator and says to update onnxruntime, not to re-download."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper  # noqa: PLC0415

    node = helper.make_node("FancyTanh", ["z"], ["image"], domain="com.example")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [None, 3, 8, 8])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 3, 8, 8])],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
    # An operator it lacks; then a file format (IR version) newer than it reads.
    for ir, words in ((8, "FancyTanh"), (99, "IR version: 99")):
        onnx.save(helper.make_model(graph, opset_imports=opsets, ir_version=ir), tmp_path / "custom.onnx")
        with pytest.raises(ModelError) as err:
            load_generator(tmp_path / "custom.onnx", device="cpu")
        text = str(err.value)
        assert "cannot run" in text and words in text and "update onnxruntime" in text, text
        assert "corrupt" not in text and "onnxruntime_src" not in text and "\n" not in text


def test_an_invalid_graph_and_missing_external_weights_get_their_own_fix(tmp_path, models, monkeypatch):
    """Updating onnxruntime fixes neither a graph that breaks ONNX's typing rules nor weights
    kept in a separate file that is missing: each gets the fix that works."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper  # noqa: PLC0415

    one = helper.make_tensor("one", TensorProto.INT64, [1], [1])
    node = helper.make_node("Add", ["z", "one"], ["image"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [None, 3, 8, 8])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 3, 8, 8])],
        [one],
    )
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), tmp_path / "typed.onnx"
    )
    with pytest.raises(ModelError, match=r"is not a valid ONNX graph \(Type Error.*fix the exporter that wrote it"):
        load_generator(tmp_path / "typed.onnx", device="cpu")
    external = tmp_path / "weights" / "ext.onnx"
    external.parent.mkdir()
    onnx.save(
        onnx.load(models.spatial_rgb), external, save_as_external_data=True, location="ext.data", size_threshold=0
    )
    monkeypatch.chdir(tmp_path)  # not beside the weights
    gen = load_generator(external, device="cpu")  # found beside the model, from any folder
    z = np.random.default_rng(0).standard_normal((2, gen.info.latent_size, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(gen.run(z), load_generator(models.spatial_rgb, device="cpu").run(z))
    # Another model's weights under the same name in the working folder are not taken for its own.
    (tmp_path / "ext.data").write_bytes(bytes(len((external.parent / "ext.data").read_bytes())))
    np.testing.assert_array_equal(load_generator(external, device="cpu").run(z), gen.run(z))
    (external.parent / "ext.data").replace(tmp_path / "ext.data")  # now in the working folder only
    with pytest.raises(
        ModelError,
        match=r"keeps its weights in separate files \(ONNX external data\): ext.data is not in "
        r".*weights\. copy the weights file\(s\) into the model's folder",
    ):
        load_generator(external, device="cpu")
    (external.parent / "ext.data").write_bytes((tmp_path / "ext.data").read_bytes()[:100])  # cut short
    with pytest.raises(ModelError, match=r"ext.data does not hold the weights the model names \(truncated"):
        load_generator(external, device="cpu")


def test_a_broken_model_does_not_turn_a_working_gpu_off_for_the_next(models, tmp_path):
    """With --device auto, a file that CUDA and the CPU both refuse is the file's fault: CUDA
    stays in use for the next model. Before, the refusal was remembered as "cuda could not
    start", and every later model in the app ran on the CPU until it was restarted."""
    real = devices.open_session
    # A stand-in for a working GPU: "cuda" opens the model as the CPU does and reports itself.
    gpu = devices.Providers(
        listed=lambda: ["cuda", "cpu"], open=lambda model, device, threads: real(model, "cpu", threads)
    )
    broken = _write(tmp_path / "broken.onnx", models.vector_rgb.read_bytes()[:300])
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        load_generator(broken, device="auto", providers=gpu)
    assert gpu.failed == {}
    assert load_generator(models.vector_rgb, device="auto", providers=gpu).device == "cuda"


def test_an_explicit_device_that_throws_on_start_is_named(models, tmp_path):
    """onnxruntime-gpu can list CUDA and then throw when the session starts (no driver, no
    device): with --device cuda that is the device's fault, said so, not the model's."""
    real = devices.open_session

    def cuda_fails(model, device, threads):
        if device == "cuda":
            raise RuntimeError("CUDA failure 100: no CUDA-capable device is detected")
        return real(model, device, threads)

    failing = devices.Providers(listed=lambda: ["cuda", "cpu"], open=cuda_fails)
    with pytest.raises(ModelError, match=r"device 'cuda' could not start \(CUDA failure 100") as err:
        load_generator(models.vector_rgb, device="cuda", providers=failing)
    assert "--device auto" in str(err.value)
    # A file the CPU cannot open either is the file's fault.
    broken = _write(tmp_path / "broken.onnx", models.vector_rgb.read_bytes()[:300])
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        load_generator(broken, device="cuda", providers=failing)


def test_a_graph_with_a_fixed_batch_runs_any_batch_in_pieces(tmp_path):
    """Some exporters fix the batch size (often at 1): texgen runs such a graph that many
    latents at a time, so `-s 1-3` works, and says so among its guesses."""
    import torch  # noqa: PLC0415

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 3 * 8 * 8)

        def forward(self, z):
            return torch.tanh(self.fc(z)).reshape(-1, 3, 8, 8)

    torch.manual_seed(0)
    torch.onnx.export(
        Tiny().eval(),
        (torch.zeros(1, 4),),
        tmp_path / "fixed.onnx",
        dynamo=False,
        input_names=["z"],
        output_names=["image"],
        opset_version=17,
    )
    gen = load_generator(tmp_path / "fixed.onnx", device="cpu")
    assert gen.fixed_batch == 1 and any("fixed at 1" in g for g in gen.guesses)
    z = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    out = gen.run(z)
    assert out.shape == (3, 3, 8, 8)
    np.testing.assert_allclose(out[2], gen.run(z[2:3])[0], atol=1e-6)


def test_a_gpu_that_throws_costs_one_cpu_session_not_two(models):
    """The CPU session opened to tell the model's fault from the device's is the one used."""
    real, opened = devices.open_session, []

    def cuda_throws(model, device, threads):
        opened.append(device)
        if device == "cuda":
            raise RuntimeError("CUDA failure 100: no CUDA-capable device is detected")
        return real(model, device, threads)

    throwing = devices.Providers(listed=lambda: ["cuda", "cpu"], open=cuda_throws)
    assert load_generator(models.vector_rgb, device="auto", providers=throwing).device == "cpu"
    assert opened == ["cuda", "cpu"]


def test_external_weights_are_blamed_only_when_they_are_at_fault(tmp_path, models):
    """A model with external data that fails for another reason (an unknown operator) gets that
    reason's fix, not "the weights file does not hold the weights"."""
    import onnx  # noqa: PLC0415

    model = onnx.load(models.spatial_rgb)
    for node in model.graph.node:
        if node.op_type == "Tanh":
            node.op_type = "Tanhh"
    onnx.save(model, tmp_path / "odd.onnx", save_as_external_data=True, location="odd.data", size_threshold=0)
    with pytest.raises(ModelError) as err:
        load_generator(tmp_path / "odd.onnx", device="cpu")
    assert "No Op registered for Tanhh" in str(err.value) and "separate files" not in str(err.value), str(err.value)
