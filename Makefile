# The two set-up commands of the README: `make demo` and `make test`.
# Both install missing Debian packages, configure and build first.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test demo cluster bench bench-quick install package clean format

all: build

deps:
	@cmake/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 600

demo: build
	$(BUILD)/apps/partita-clickcount

bench: build
	$(BUILD)/benchmarks/partita-bench --out $(BUILD)/bench
	$(BUILD)/benchmarks/partita-micro --benchmark_out=$(BUILD)/bench/micro.json \
	    --benchmark_out_format=json

bench-quick: build
	$(BUILD)/benchmarks/partita-bench --quick --out $(BUILD)/bench
	$(BUILD)/benchmarks/partita-micro --benchmark_min_time=0.05 \
	    --benchmark_out=$(BUILD)/bench/micro.json --benchmark_out_format=json

# The service binaries, libraries, headers and CMake package (find_package(partita)), and the
# deployment files under share/partita/deploy. PREFIX=/usr/local unless told otherwise.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# build/partita_<version>_amd64.deb and build/partita-dev_<version>_amd64.deb (cmake/package.cmake).
package: build
	cd $(BUILD) && cpack

cluster: build
	$(BUILD)/apps/partita-cluster --topic clicks:8:3

format:
	clang-format -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	rm -rf $(BUILD)
