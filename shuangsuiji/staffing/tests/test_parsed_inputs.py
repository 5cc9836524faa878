"""The freeze keeps its parse of the run's files sealed beside them; the perform job (and
replacements) use it only when it is intact and made from files with the registered hashes."""

from dataclasses import astuple

import pytest

from shuangsuiji.protocol import assign as A
from shuangsuiji.staffing import services

from .helpers import inputs, make_task, staff


@pytest.fixture
def parses(monkeypatch):
    """Count the full parses (parse_files) the services make."""
    calls = []
    real = A.parse_files

    def counted(*args, **kw):
        calls.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(A, "parse_files", counted)
    return calls


def frozen_run(org, targets=3):
    task = make_task(org, targets=targets)
    staff(org, 3)
    run = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs())
    run.refresh_from_db()
    assert run.teams_sha256 and (services.run_dir(run) / services.PARSED).exists()
    return run


def parsed_again(run) -> A.Inputs:
    data = [services.read_file(run, n) for n in services.FILES]
    return A.parse_files(*data, sorted(run.settings["need"]))


def test_perform_uses_the_sealed_parse_and_draws_the_same(org, parses):
    run = frozen_run(org)
    parses.clear()
    assert astuple(services._inputs(run)) == astuple(parsed_again(run))
    assert len(parses) == 1  # parsed_again only
    parses.clear()
    services.enter_beacon(user=org.scjgj_admin, run=run, value="482")
    run = services.perform(user=org.scjgj_admin, run=run)
    run.refresh_from_db()
    assert run.state in (services.State.DONE, services.State.SHORTFALL) and not parses
    # Without the sealed copy the files are parsed and checked again: the same record.
    (services.run_dir(run) / services.PARSED).unlink()
    _, data = services._record_bytes(run, services._assignment(run, []))
    assert len(parses) == 1 and data == bytes(run.record)


def reseal(run, packed: bytes) -> None:
    (services.run_dir(run) / services.PARSED).write_bytes(services._sealed(packed))


def test_a_changed_or_foreign_copy_is_not_used(org, parses, settings):
    run = frozen_run(org)
    path = services.run_dir(run) / services.PARSED
    sealed = path.read_bytes()
    expected = astuple(parsed_again(run))
    packed = A.pack_inputs(parsed_again(run))

    # One byte of the parse changed (the MAC no longer matches).
    changed = bytearray(sealed)
    changed[-40] ^= 1
    path.write_bytes(bytes(changed))
    parses.clear()
    assert astuple(services._inputs(run)) == expected and len(parses) == 1

    # Sealed under another site's key.
    path.write_bytes(sealed)
    settings.SECRET_KEY = "another-site-" + settings.SECRET_KEY
    parses.clear()
    assert astuple(services._inputs(run)) == expected and len(parses) == 1
    reseal(run, packed)  # now sealed under this key: used again
    parses.clear()
    assert astuple(services._inputs(run)) == expected and not parses

    # Sealed with this key, but the parse of other files (another need): not used.
    data = [services.read_file(run, n) for n in services.FILES]
    need = data[1].replace(b"\t1\n", b"\t2\n", 1)
    assert need != data[1]
    other = A.parse_files(data[0], need, data[2], sorted(run.settings["need"]))
    reseal(run, A.pack_inputs(other))
    parses.clear()
    assert astuple(services._inputs(run)) == expected and len(parses) == 1

    # No copy (a run frozen before there was one).
    path.unlink()
    parses.clear()
    assert astuple(services._inputs(run)) == expected and len(parses) == 1


def test_files_changed_after_the_freeze_are_refused_with_or_without_the_copy(org):
    run = frozen_run(org)
    need_path = services.run_dir(run) / "need.tsv"
    need = need_path.read_bytes()
    # Still canonical, so only the registered hash can tell.
    need_path.write_bytes(need.replace(b"\t1\n", b"\t2\n", 1))
    with pytest.raises(services.StaffingError, match="哈希不符"):
        services._inputs(run)
    (services.run_dir(run) / services.PARSED).unlink()
    with pytest.raises(services.StaffingError, match="哈希不符"):
        services._inputs(run)
