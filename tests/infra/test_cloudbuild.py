"""cloudbuild.yaml: parses, names every step once, pins every image, runs only files
that exist, declares the substitutions it uses, and applies nothing before every
check has passed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra.hcl import TerraformConfig, literal
from tests.infra.support import CLOUDBUILD_FILE, INSTALL_HINT, REPO_ROOT, unavailable

PINNED_IMAGE = re.compile(
    r"^[a-z0-9.-]+(?:/[a-z0-9._-]+)*"  # registry and repository
    r"(?::(?P<tag>[\w][\w.-]*))?(?:@sha256:(?P<digest>[0-9a-f]{64}))?$"
)
SUBSTITUTION = re.compile(r"(?<!\$)\$(?:\{(_[A-Z0-9_]+)\}|(_[A-Z0-9_]+))")
REPO_PATH = re.compile(
    r"(?<![\w./-])((?:requirements[\w-]*\.txt)|(?:tests|terraform|vault|\.ci)(?:/[\w.-]+)*)"
)
# Files a step runs that an earlier step creates, and the step that creates them.
BUILT_BY = {
    ".venv/": "install",
    ".venv-infra/": "install",
    ".tools/terraform": "terraform-binary",
    ".source": "source-snapshot",
}
GATES = ("lint", "unit-tests", "integration-tests", "terraform-plan")


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        unavailable("PyYAML is not installed", INSTALL_HINT)
    loaded: dict[str, Any] = yaml.safe_load(CLOUDBUILD_FILE.read_text())
    return loaded


@pytest.fixture(scope="module")
def steps(build: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = build["steps"]
    return found


def step_text(step: dict[str, Any]) -> str:
    return " ".join(str(part) for part in [*step.get("args", []), *step.get("env", [])])


def dependencies(steps: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Cloud Build's rule: no waitFor = after every earlier step; ["-"] = at the start."""
    direct: dict[str, set[str]] = {}
    for index, step in enumerate(steps):
        wait_for = step.get("waitFor")
        if wait_for is None:
            direct[step["id"]] = {earlier["id"] for earlier in steps[:index]}
        else:
            direct[step["id"]] = {name for name in wait_for if name != "-"}
    closure: dict[str, set[str]] = {}
    for step in steps:  # earlier steps are complete before later ones need them
        closure[step["id"]] = set().union(*({d} | closure[d] for d in direct[step["id"]]))
    return closure


def test_every_step_has_a_unique_id(steps: list[dict[str, Any]]) -> None:
    ids = [step.get("id") for step in steps]

    assert None not in ids
    assert len(ids) == len(set(ids))


def test_steps_wait_only_for_earlier_steps(steps: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for step in steps:
        assert set(step.get("waitFor", [])) - {"-"} <= seen, step["id"]
        seen.add(step["id"])


@pytest.mark.parametrize("field", ["name"])
def test_every_image_is_pinned(steps: list[dict[str, Any]], field: str) -> None:
    for step in steps:
        image = step[field]
        match = PINNED_IMAGE.match(image)
        assert match, f"{step['id']}: {image!r} is not an image reference"
        tag, digest = match["tag"], match["digest"]
        assert digest or (tag and tag != "latest" and re.search(r"\d", tag)), (
            f"{step['id']}: {image!r} must name a version or a digest"
        )


def test_the_python_image_is_the_functions_runtime(
    steps: list[dict[str, Any]], terraform_config: TerraformConfig
) -> None:
    (function,) = terraform_config.resources("google_cloudfunctions2_function")
    runtime = literal(function.body["build_config"][0]["runtime"])  # e.g. python312
    python_images = {s["name"] for s in steps if s["name"].startswith("python:")}

    assert python_images
    for image in python_images:
        version = image.split(":")[1].split("-")[0].split(".")
        assert "python" + "".join(version[:2]) == runtime, image


def test_the_terraform_image_satisfies_required_version(
    steps: list[dict[str, Any]], terraform_config: TerraformConfig
) -> None:
    settings = terraform_config.settings()
    minimum = literal(settings["required_version"]).removeprefix(">=").strip()
    images = {s["name"] for s in steps if s["name"].startswith("hashicorp/terraform:")}

    assert len(images) == 1
    version = images.pop().split(":")[1]
    assert _version(version) >= _version(minimum)


def test_files_it_runs_exist(steps: list[dict[str, Any]]) -> None:
    missing = []
    for step in steps:
        referenced = set(REPO_PATH.findall(step_text(step)))
        if "dir" in step:
            referenced.add(step["dir"])
        missing += [
            f"{step['id']}: {path}" for path in referenced if not (REPO_ROOT / path).exists()
        ]

    assert missing == []


def test_built_tools_are_used_only_after_they_are_built(steps: list[dict[str, Any]]) -> None:
    after = dependencies(steps)
    for step in steps:
        text = step_text(step)
        for path, builder in BUILT_BY.items():
            if path in text and step["id"] != builder:
                assert builder in after[step["id"]], f"{step['id']} uses {path} before {builder}"


def test_substitutions_are_declared_and_used(build: dict[str, Any]) -> None:
    declared = set(build.get("substitutions", {}))
    used = {
        first or second
        for step in build["steps"]
        for first, second in SUBSTITUTION.findall(step_text(step))
    }

    assert {"_REGION", "_TF_STATE_BUCKET"} <= declared
    assert used == declared


def test_the_plan_sets_every_required_variable(
    steps: list[dict[str, Any]], terraform_config: TerraformConfig
) -> None:
    variables = terraform_config.variables()
    required = {name for name, body in variables.items() if "default" not in body}
    (plan,) = [step for step in steps if "plan" in step.get("args", [])]
    given = {
        entry.split("=", 1)[0].removeprefix("TF_VAR_")
        for entry in plan.get("env", [])
        if entry.startswith("TF_VAR_")
    }

    assert given <= set(variables)
    assert required <= given


def test_the_deploy_is_gated_by_every_check(steps: list[dict[str, Any]]) -> None:
    after = dependencies(steps)
    (apply,) = [step for step in steps if "apply" in step.get("args", [])]
    checks = {step["id"] for step in steps if re.search(r"lint|test|fmt|validate", step["id"])}

    assert set(GATES) <= checks | {"terraform-plan"}
    assert checks | {"terraform-plan"} <= after[apply["id"]]
    assert apply["args"][-1] == "tfplan", "apply the plan that was reviewed, nothing else"
    assert apply is steps[-1]


def test_the_pipeline_runs_the_required_stages(steps: list[dict[str, Any]]) -> None:
    text = {step["id"]: step_text(step) for step in steps}

    assert "pytest tests/unit tests/infra" in text["unit-tests"]
    assert "pytest tests/integration" in text["integration-tests"]
    assert "ruff check" in text["lint"] and "mypy" in text["lint"]
    assert "fmt -check" in text["terraform-fmt"]
    assert "terraform init" in text["terraform-init"]
    assert text["terraform-validate"].startswith("validate")
    assert "-out=tfplan" in text["terraform-plan"]


def test_the_emulator_is_googles_debian_package_pinned(steps: list[dict[str, Any]]) -> None:
    # Not a cloud-sdk image: its tags are deleted after a year, and it is not the
    # emulator the tests use locally (.ci/run installs the same Debian package).
    (integration,) = [step for step in steps if step["id"] == "integration-tests"]
    text = step_text(integration)
    (pinned,) = [e for e in integration["env"] if e.startswith("GCLOUD_CLI_VERSION=")]

    assert not [step["id"] for step in steps if "cloudsdktool" in step["name"]]
    assert re.fullmatch(r"GCLOUD_CLI_VERSION=\d+\.\d+\.\d+-\d+", pinned)
    assert '"google-cloud-cli-firestore-emulator=$$GCLOUD_CLI_VERSION"' in text
    assert "default-jre-headless" in text
    assert "google-cloud-cli-firestore-emulator" in (REPO_ROOT / ".ci" / "run").read_text()


def test_the_plan_zips_the_snapshot_taken_before_the_tests(steps: list[dict[str, Any]]) -> None:
    after = dependencies(steps)
    (snapshot,) = [step for step in steps if step["id"] == "source-snapshot"]
    (plan,) = [step for step in steps if "plan" in step.get("args", [])]

    assert snapshot.get("waitFor") == ["-"]
    assert "source-snapshot" in after[plan["id"]]
    assert "TF_VAR_source_dir=/workspace/.source" in plan["env"]
    assert "main.py requirements.txt vault .source/" in step_text(snapshot)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))
