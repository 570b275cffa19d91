// `prisma bench load`: how much memory loading a big model takes. `--make DIR` writes a
// ViT-B/16-sized Hugging Face classifier (random weights, ~346 MB of float32 safetensors);
// `prisma bench load MODEL` then loads it in a fresh process and reports the peak resident
// set during loading. The kernel's peak counter is reset just before loading
// (/proc/self/clear_refs, "5"), so the figure is the loader's own peak, LibTorch's start-up
// footprint included as the baseline it starts from.
//
// `prisma bench load MODEL --cycles N`: loads and unloads MODEL N times, as the explorer
// does when a user switches between a big model and a mouse, and reports the resident set
// after each unload, before and after handing freed memory back to the system
// (malloc_trim, what the explorer does after replacing a model). The executables raise
// glibc's mmap threshold (runtime::configureAllocator), so tensors live in malloc's
// arenas, which keep freed memory until trimmed.

#include "app/cli/CliArgs.h"
#include "app/cli/ProcessMemory.h"
#include "app/cli/Commands.h"

#include "model/io/ModelExport.h"
#include "model/io/ModelLoader.h"
#include "model/vit/ModelShapes.h"

#include <torch/torch.h>

#include <chrono>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fs = std::filesystem;

namespace prisma::cli {

namespace {

constexpr uint64_t kWeightSeed = 0;
constexpr double kMiB = 1024.0 * 1024.0;

uintmax_t folderBytes(const fs::path& p) {
  if (fs::is_regular_file(p)) return fs::file_size(p);
  uintmax_t total = 0;
  for (const auto& e : fs::directory_iterator(p))
    if (e.is_regular_file() && (e.path().extension() == ".safetensors" || e.path().extension() == ".bin"))
      total += e.file_size();
  return total;
}

// Returns freed memory to the system; false where the C library cannot.
bool trimHeap() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
  return true;
#else
  return false;
#endif
}

int loadUnloadCycles(const std::string& path, int cycles, std::ostream& out) {
  char line[256];
  const long start = statusKb("VmRSS");
  std::snprintf(line, sizeof line, "load/unload %s, %d cycles; resident at start %.1f MiB\n", path.c_str(), cycles,
                start / 1024.0);
  out << line;
  for (int i = 1; i <= cycles; ++i) {
    std::optional<io::LoadedModel> m(io::loadModel(path));
    const long loaded = statusKb("VmRSS");
    m.reset();
    const long freed = statusKb("VmRSS");
    const bool trimmed = trimHeap();
    const long after = statusKb("VmRSS");
    std::snprintf(line, sizeof line, "cycle %d: loaded %.1f MiB; unloaded %.1f MiB; %s %.1f MiB (+%.1f MiB over start)\n", i,
                  loaded / 1024.0, freed / 1024.0, trimmed ? "after malloc_trim" : "no malloc_trim here:", after / 1024.0,
                  (after - start) / 1024.0);
    out << line;
  }
  return 0;
}

}  // namespace

int benchLoadCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"make", "cycles"}, {});
  char line[256];
  if (a.has("make")) {
    io::LoadedModel m;
    m.model = HookedViT(vitBase16Shape());
    m.model->init_weights(kWeightSeed);
    m.format = "random";
    m.source = "prisma bench load --make";
    m.name = "vit-base-patch16-224-random";
    m.preprocess = io::defaultPreprocess(m.model->cfg());
    io::exportModel(m, a.value("make"), io::ExportFormat::HuggingFace);
    std::snprintf(line, sizeof line, "wrote %s: ViT-B/16, %lld parameters, %.1f MiB of weights\n",
                  a.value("make").c_str(), static_cast<long long>(m.model->parameter_count()),
                  folderBytes(a.value("make")) / kMiB);
    out << line;
    return 0;
  }
  const std::string path = a.positional(0, "MODEL (or --make DIR)");
  if (a.has("cycles")) return loadUnloadCycles(path, a.intValue("cycles", 1, kCount), out);
  const bool reset = resetPeakRss();
  const long before = statusKb(reset ? "VmRSS" : "VmHWM");
  const auto t0 = std::chrono::steady_clock::now();
  const auto m = io::loadModel(path);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long peak = statusKb("VmHWM"), rss = statusKb("VmRSS");
  const double params = m.model->parameter_count() * sizeof(float) / kMiB;
  std::snprintf(line, sizeof line,
                "loaded %s (%s): %.1f MiB of weight files, %.1f MiB of float32 parameters in %.2f s\n"
                "resident before loading %.1f MiB; peak while loading %.1f MiB (+%.1f MiB); after %.1f MiB "
                "(anon %.1f, file %.1f)%s\n",
                path.c_str(), m.format.c_str(), folderBytes(path) / kMiB, params, seconds, before / 1024.0,
                peak / 1024.0, (peak - before) / 1024.0, rss / 1024.0, statusKb("RssAnon") / 1024.0,
                statusKb("RssFile") / 1024.0, reset ? "" : " [peak counter not resettable: peak since start]");
  out << line;
  return 0;
}

}  // namespace prisma::cli
