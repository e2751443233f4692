# Developer shortcuts. A user needs only the two commands at the top of README.md.
PYTHON ?= python3
SO := python/shoprec/_core.abi3.so

.PHONY: dev test test-rust stubtest bench clean

# Quick in-place build for the edit-test loop: tests then run with PYTHONPATH=python.
# PYO3_BUILD_EXTENSION_MODULE: do not link libpython, exactly as maturin builds it.
dev:
	rm -f python/shoprec/_core*.so
	PYO3_BUILD_EXTENSION_MODULE=1 cargo build --profile dev-release --lib
	cp target/dev-release/lib_core.so $(SO)

test: dev
	PYTHONPATH=python $(PYTHON) -m pytest -q

test-rust:
	cargo test -p shoprec-core
	cargo test -p shoprec-search

stubtest: dev
	PYTHONPATH=python $(PYTHON) -m mypy.stubtest shoprec._core --allowlist .mypy-stubtest-allowlist

bench:
	cargo bench -p shoprec-core
	$(PYTHON) benches/peers.py

clean:
	rm -f python/shoprec/_core*.so
	cargo clean
