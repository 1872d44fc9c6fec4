"""For make bench: which BLAS library PyTorch loaded and, when it is OpenBLAS, the kernel it runs
(openblas_get_corename; set OPENBLAS_CORETYPE to force one). Debian's python3-torch calls the system
libblas.so.3: the reference (netlib) BLAS unless an optimised one such as libopenblas0 is installed.
Prints one line: blas <library file> kernel <name or ->."""
import ctypes

import torch

torch.ones(64, 64) @ torch.ones(64, 64)   # loads the library
lib = "-"
with open("/proc/self/maps") as maps:
    for line in maps:
        path = line.split()[-1]
        if "blas" in path.rsplit("/", 1)[-1] and path.endswith(".so.3") or "libopenblas" in path:
            lib = path
            break
kernel = "-"
if lib != "-":
    try:
        name = ctypes.CDLL(lib).openblas_get_corename
        name.restype = ctypes.c_char_p
        kernel = name().decode()
    except (OSError, AttributeError):
        pass
print("blas %s kernel %s" % (lib, kernel))
