#pragma once
// The process's compute set-up. Speed here is decided by BLAS: Debian's LibTorch does its
// matrix products through the system libblas.so.3 (OpenBLAS when installed), and Debian's
// OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to generic kernels ~8x
// slower than the right ones. OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so the
// fix is to re-execute the program once with it set (README, "Speed: BLAS").

#include <string>

namespace prisma::runtime {

struct BlasInfo {
  std::string library;   // resolved path of the loaded libblas.so.3, or "unknown"
  std::string vendor;    // "OpenBLAS", "BLIS", "reference", ...
  std::string core;      // OpenBLAS' kernel set (e.g. "SkylakeX"), empty otherwise
  std::string config;    // OpenBLAS' build description
  int threads = 0;       // BLAS threads, 0 when unknown
};

BlasInfo blasInfo();

// What the CPU supports, from cpuid and the OS's saved state (AVX-512 needs both).
struct CpuFeatures {
  bool avx2 = false;
  bool avx512 = false;
};
CpuFeatures cpuFeatures();
std::string cpuModel();

// The OPENBLAS_CORETYPE this process should run with, or "" when nothing must change:
// only when OpenBLAS chose a generic core on a CPU with AVX-512 (-> SkylakeX) or AVX2
// (-> Haswell), and the variable is not already set by the user or the machine.
std::string recommendedCoretype();

// Call first in main(). Both variables below are read only when their library loads, so
// the program re-executes itself once with whichever is missing:
//  - OPENBLAS_CORETYPE, when recommendedCoretype() names one;
//  - OMP_WAIT_POLICY=PASSIVE, when unset: LibTorch's OpenMP threads otherwise spin
//    between operations and starve OpenBLAS' own threads. Measured on a loaded 2-core
//    machine: a mouse forward took 90-180 ms spinning against 1.1 ms passive.
// A value the user or the machine set is never overridden; PRISMA_NO_BLAS_REEXEC=1 opts
// out. Returns normally when no re-execution happens.
void reexecWithTunedBlasIfNeeded(char** argv);

// Sets LibTorch's intra-op threads to the cores this process may use (Debian's LibTorch
// starts with one unless OMP_NUM_THREADS is set). Per thread: call inside workers too.
int configureThreads();
int availableCores();

// Call once in main(): keeps large freed blocks in glibc's heap for reuse instead of
// returning them to the kernel. Process-wide (mallopt), so it belongs to the executables,
// not to a library that a host program links. Training is what it is for: glibc serves
// blocks above its mmap threshold (128 KiB at start) with fresh mmap()s and unmaps them on
// free(), so every activation and gradient of every update costs page faults and zeroed
// pages. Measured on the induction preset: 324,000 minor faults and ~30 % of the run in the
// kernel, against 43,000 with the thresholds it sets.
void configureAllocator();

// float32 n x n matmul rate of this process, GFLOP/s (median of `reps`).
double measureMatmulGflops(int n = 1024, int reps = 5);

}  // namespace prisma::runtime
