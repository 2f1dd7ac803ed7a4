# The two commands of the README.  Everything else is a helper for them.
JOBS ?= $(shell nproc)
MODE ?= pcscf
CMAKE_FLAGS ?=

.PHONY: all deps web build build-asan build-fuzz test test-unit run bench bench-quick bench-roles bench-media bench-media-quick bench-xcode bench-xcode-quick clean

all: build

deps:
	@scripts/deps.sh

# the browser client (web/src -> web/dist, JsSIP bundled by esbuild), served by wimsd
web: deps web/dist/app.js
web/dist/app.js: $(wildcard web/src/*) web/build.js web/package.json | deps
	node web/build.js

build: deps web
	cmake -S . -B build -DWIMS_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j$(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DWIMS_WERROR=ON -DWIMS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j$(JOBS)

build-fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DWIMS_WERROR=ON -DWIMS_FUZZ=ON -DWIMS_TESTS=OFF >/dev/null
	cmake --build build-fuzz -j$(JOBS)

# The whole suite: unit tests, the same under ASan+UBSan, fuzz targets briefly,
# and the integration tests against Kamailio, sipp and JsSIP.
test: build build-asan build-fuzz
	cd build-asan && ctest --output-on-failure -L unit
	cd build-fuzz && ctest --output-on-failure -L fuzz
	cd build && ctest --output-on-failure

test-unit: build
	cd build && ctest --output-on-failure -L unit

# wimsd against Kamailio's websocket module, same core, same load (docs/performance.md)
bench: build
	bench/run.sh

bench-quick: build
	bench/run.sh --quick

# the P-CSCF role against the IWU role only (part c of bench/run.sh)
bench-roles: build
	bench/run.sh --roles

# wimsd's media gateway against rtpengine, same load (docs/media-performance.md)
bench-media: build
	bench/media.sh

bench-media-quick: build
	bench/media.sh --quick

# transcoded calls per core: wimsd against the raw codec cost and rtpengine (docs/media-performance.md)
bench-xcode: build
	bench/xcode.sh

bench-xcode-quick: build
	bench/xcode.sh --quick

run: build
	lab/run.sh $(MODE) || [ $$? -eq 130 ]  # Ctrl-C is the way to stop it

clean:
	rm -rf build build-asan build-fuzz web/dist
