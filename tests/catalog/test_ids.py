"""Dataset ids are the Butler's, whatever order the data id comes in."""

from __future__ import annotations

import uuid

from hypothesis import example, given
from hypothesis import strategies as st

from catalog import dataset_id


def test_known_butler_id() -> None:
    data_id = {"instrument": "LSSTCam", "exposure": 2025041500060, "detector": 1}
    assert dataset_id("raw", "LSSTCam/raw/all", data_id) == uuid.UUID(
        "c900ca45-8346-53d7-b43f-af5d7c87bae7"
    )


def test_run_and_type_change_the_id() -> None:
    data_id = {"instrument": "LSSTCam", "exposure": 2025041500060, "detector": 1}
    ids = {
        dataset_id("raw", "LSSTCam/raw/all", data_id),
        dataset_id("raw", "LSSTCam/raw/other", data_id),
        dataset_id("bias", "LSSTCam/raw/all", data_id),
    }
    assert len(ids) == 3


keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
values = st.one_of(st.integers(min_value=0, max_value=10**15), st.text(max_size=20))


@given(st.dictionaries(keys, values, min_size=1, max_size=6), st.randoms())
@example({"instrument": "LSSTCam", "exposure": 1, "detector": 2}, None)
def test_data_id_order_does_not_matter(data_id: dict[str, object], rnd: object) -> None:
    items = list(data_id.items())
    if rnd is not None:
        rnd.shuffle(items)  # type: ignore[attr-defined]
    else:
        items.reverse()
    assert dataset_id("raw", "run", dict(items)) == dataset_id("raw", "run", data_id)
