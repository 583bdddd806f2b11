"""Lists every package page by page and fetches one, with a client that openapi-python-client
generated from Rieter's openapi.yaml (package `rieter_client`, on PYTHONPATH).

Usage: list_packages.py BASE_URL EXPECTED_TOTAL
Prints one line per package (`name version arch`), then `detail: <name> <downloads>`; exits
non-zero when anything disagrees.
"""

import sys

from rieter_client import Client
from rieter_client.api.catalogue import get_package, list_packages
from rieter_client.models import PackagePage, Package, PackageSort, SortOrder


def main() -> None:
    base_url, expected = sys.argv[1], int(sys.argv[2])
    client = Client(base_url=base_url, raise_on_unexpected_status=True)
    seen = []
    page = 1
    while True:
        result = list_packages.sync(
            client=client, page=page, per_page=2, sort=PackageSort.NAME, order=SortOrder.ASC
        )
        assert isinstance(result, PackagePage), result
        assert result.page == page and result.per_page == 2, result
        assert result.total == expected, (result.total, expected)
        if not result.items:
            break
        assert len(result.items) <= 2
        seen.extend(result.items)
        page += 1
    assert len(seen) == expected, (len(seen), expected)
    names = [p.name for p in seen]
    assert names == sorted(names), names
    assert len(set(p.id for p in seen)) == expected
    for p in seen:
        print(p.name, p.version, p.arch)

    detail = get_package.sync(client=client, id=seen[0].id)
    assert isinstance(detail, Package), detail
    assert detail.name == seen[0].name and detail.version == seen[0].version
    assert detail.downloads and all(d.endswith(detail.filename) for d in detail.downloads)
    print("detail:", detail.name, " ".join(detail.downloads))


if __name__ == "__main__":
    main()
