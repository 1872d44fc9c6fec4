#!/bin/sh
# Checks the Debian packages the project needs and installs the missing ones
# with apt-get when run as root; otherwise names them and the exact command.
#   gnuplot-nox            renders figures/*.png (programs still write .dat/.gp without it)
#   libstb-dev             stb_image_write.h, for PNG image grids
#   check                  the unit-test framework (libcheck), for make test
#   zlib1g-dev             gzip decoding of the Fashion-MNIST IDX files
#   dataset-fashion-mnist  the Fashion-MNIST data, in /usr/share/datasets/fashion-mnist
#   pkg-config             to find Check's link flags
# With the argument "bench" (make bench), also the references it measures against, optional:
#   libopenblas0           OpenBLAS, for the GEMM comparison (and PyTorch's BLAS: without it Debian's
#                          python3-torch runs its matrix products in the netlib reference BLAS, 6x slower)
#   python3-torch          PyTorch, for the training comparisons (benchmark only)
# A missing reference is named and bench runs without it.
missing=""
command -v gnuplot >/dev/null 2>&1                       || missing="$missing gnuplot-nox"
[ -f /usr/include/stb/stb_image_write.h ]                || missing="$missing libstb-dev"
[ -f /usr/include/check.h ]                              || missing="$missing check"
[ -f /usr/include/zlib.h ]                               || missing="$missing zlib1g-dev"
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing="$missing dataset-fashion-mnist"
command -v pkg-config >/dev/null 2>&1                    || missing="$missing pkg-config"
if [ "$1" = bench ]; then
    [ -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] || ls /usr/lib/*/libopenblas.so.0 >/dev/null 2>&1 || missing="$missing libopenblas0"
    /usr/bin/python3 -c 'import torch' >/dev/null 2>&1    || missing="$missing python3-torch"
fi
[ -z "$missing" ] && exit 0

cmd="apt-get install -y$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq$missing >/dev/null && exit 0
    echo "deps: apt-get failed; run as root: apt-get update && $cmd" >&2
    exit 1
fi
echo "deps: missing Debian packages:$missing; run: sudo apt-get update && sudo $cmd" >&2
exit 1
