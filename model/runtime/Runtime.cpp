#include "model/runtime/Runtime.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cpuid.h>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <link.h>
#include <malloc.h>
#include <sched.h>
#include <unistd.h>
#include <vector>

namespace prisma::runtime {

namespace {

constexpr const char* kCoretypeVar = "OPENBLAS_CORETYPE";
constexpr const char* kOptOutVar = "PRISMA_NO_BLAS_REEXEC";
constexpr const char* kGuardVar = "PRISMA_BLAS_REEXECUTED";
constexpr const char* kWaitPolicyVar = "OMP_WAIT_POLICY";

// The values glibc's own dynamic threshold drifts to once a process has freed one large
// block (see configureAllocator).
constexpr int kMallocMmapThreshold = 32 << 20;
constexpr int kMallocTrimThreshold = 64 << 20;

// Kernel sets OpenBLAS falls back to when it does not know the CPU.
const char* const kGenericCores[] = {"prescott", "core2", "katmai", "coppermine", "northwood",
                                     "banias", "atom", "generic", "unknown"};

// cpuid leaf 7 / XCR0 bits.
constexpr unsigned kLeafExtendedFeatures = 7;
constexpr unsigned kBitAvx2 = 1u << 5;
constexpr unsigned kBitAvx512F = 1u << 16;
constexpr unsigned kBitOsxsave = 1u << 27;
constexpr unsigned long long kXcr0AvxState = 0x6;      // XMM | YMM
constexpr unsigned long long kXcr0Avx512State = 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM

template <typename Fn>
Fn blasSymbol(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int findBlasLibrary(struct dl_phdr_info* info, size_t, void* data) {
  const char* name = info->dlpi_name;
  if (name && std::strstr(name, "libblas.so")) {
    *static_cast<std::string*>(data) = name;
    return 1;
  }
  return 0;
}

}  // namespace

BlasInfo blasInfo() {
  BlasInfo info;
  std::string path;
  ::dl_iterate_phdr(findBlasLibrary, &path);
  if (!path.empty()) {
    char resolved[PATH_MAX];
    info.library = ::realpath(path.c_str(), resolved) ? resolved : path;
  } else {
    info.library = "unknown";
  }
  if (auto corename = blasSymbol<char* (*)()>("openblas_get_corename")) {
    info.vendor = "OpenBLAS";
    info.core = corename();
    if (auto cfg = blasSymbol<char* (*)()>("openblas_get_config")) info.config = cfg();
    if (auto threads = blasSymbol<int (*)()>("openblas_get_num_threads")) info.threads = threads();
  } else if (blasSymbol<void* (*)()>("bli_info_get_version_str")) {
    info.vendor = "BLIS";
  } else if (info.library.find("/blas/") != std::string::npos) {
    info.vendor = "reference";
  } else {
    info.vendor = "unknown";
  }
  return info;
}

CpuFeatures cpuFeatures() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & kBitOsxsave)) return f;
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const unsigned long long xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  if (!__get_cpuid_count(kLeafExtendedFeatures, 0, &a, &b, &c, &d)) return f;
  f.avx2 = (b & kBitAvx2) && (xcr0 & kXcr0AvxState) == kXcr0AvxState;
  f.avx512 = (b & kBitAvx512F) && (xcr0 & kXcr0Avx512State) == kXcr0Avx512State;
  return f;
}

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) return line.substr(pos + 2);
    }
  return "unknown CPU";
}

std::string recommendedCoretype() {
  if (std::getenv(kCoretypeVar)) return "";  // the user or the machine chose on purpose
  const BlasInfo info = blasInfo();
  if (info.vendor != "OpenBLAS") return "";
  const std::string core = lower(info.core);
  bool generic = false;
  for (const char* g : kGenericCores) generic = generic || core == g;
  if (!generic) return "";
  const CpuFeatures f = cpuFeatures();
  if (f.avx512) return "SkylakeX";
  if (f.avx2) return "Haswell";
  return "";
}

void reexecWithTunedBlasIfNeeded(char** argv) {
  if (std::getenv(kGuardVar) || std::getenv(kOptOutVar)) return;
  const std::string coretype = recommendedCoretype();
  const bool set_wait_policy = std::getenv(kWaitPolicyVar) == nullptr;
  if (coretype.empty() && !set_wait_policy) return;
  if (!coretype.empty()) ::setenv(kCoretypeVar, coretype.c_str(), 1);
  if (set_wait_policy) ::setenv(kWaitPolicyVar, "PASSIVE", 1);
  ::setenv(kGuardVar, "1", 1);
  ::execv("/proc/self/exe", argv);
  // execv only returns on failure: carry on with the slow kernels rather than fail.
  ::unsetenv(kGuardVar);
}

int availableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
}

int configureThreads() {
  const int n = availableCores();
  at::set_num_threads(n);
  return n;
}

void configureAllocator() {
  ::mallopt(M_MMAP_THRESHOLD, kMallocMmapThreshold);
  ::mallopt(M_TRIM_THRESHOLD, kMallocTrimThreshold);
}

double measureMatmulGflops(int n, int reps) {
  torch::NoGradGuard no_grad;
  torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c = torch::matmul(a, b);  // warm-up: threads, caches, page faults
  std::vector<double> rates;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::matmul_out(c, a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(2.0 * n * n * static_cast<double>(n) / s / 1e9);
  }
  std::nth_element(rates.begin(), rates.begin() + rates.size() / 2, rates.end());
  return rates[rates.size() / 2];
}

}  // namespace prisma::runtime
