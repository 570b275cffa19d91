// `prisma bench forward`: plain and full-cache forward passes of a mouse and of a
// ViT-B/16-shaped model (random weights), next to the float32 matmul rate measured in the
// same process, so a figure says how close the model runs to what BLAS can do here.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/SaeCli.h"

#include "model/runtime/Runtime.h"
#include "model/vit/HookedViT.h"
#include "model/vit/ModelShapes.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>

namespace prisma::cli {

namespace {

constexpr uint64_t kBenchSeed = 0;
constexpr int kMatmulSize = 1024;

struct Shape {
  const char* name;
  ViTConfig cfg;
  std::vector<int> batches;
};

// Multiply-adds of one image's forward pass, counted as 2 FLOPs each.
double forwardFlops(const ViTConfig& c) {
  const double T = c.n_tokens(), D = c.d_model, H = c.n_heads, dh = c.d_head, M = c.d_mlp;
  const double patch = c.n_patches() * double(c.n_channels) * c.patch_size * c.patch_size * D;
  double layer = T * D * 3 * H * dh + 2 * H * T * T * dh + T * H * dh * D;
  if (!c.attn_only) layer += 2 * T * D * M;
  return 2.0 * (patch + c.n_layers * layer + D * c.n_classes);
}

template <typename Fn>
double medianSeconds(int reps, Fn&& fn) {
  fn();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

}  // namespace

int benchCommand(const Args& args, std::ostream& out) {
  // The SAE benchmarks take their own options (SaeBenchCommand.cpp).
  if (!args.empty() && args[0] == "sae-train") return benchSaeTrainCommand(Args(args.begin() + 1, args.end()), out);
  if (!args.empty() && args[0] == "feature-db") return benchFeatureDbCommand(Args(args.begin() + 1, args.end()), out);
  CliArgs a(args, {"reps", "model", "threads"}, {"quick"});
  const std::string what = a.positional(0, "benchmark name (forward)");
  if (what != "forward")
    throw UsageError("unknown benchmark '" + what + "' (available: forward, load, patch, train, sae-train, feature-db)");
  const int reps = a.intValue("reps", a.flag("quick") ? 3 : 10, kCount);
  const std::string only = a.value("model");  // "mouse", "vit-b16" or empty for both
  if (!only.empty() && only != "mouse" && only != "vit-b16")
    throw UsageError("--model must be mouse or vit-b16");
  if (a.has("threads")) at::set_num_threads(a.intValue("threads", 1, kCount));
  torch::NoGradGuard no_grad;

  const auto blas = runtime::blasInfo();
  // The machine is noisy: the matmul ceiling is measured before, between and after the
  // models, and each model row is compared with the median of those measurements.
  std::vector<double> matmul = {runtime::measureMatmulGflops(kMatmulSize)};
  char line[256];
  out << "prisma bench forward: float32, " << at::get_num_threads() << " threads, " << blas.vendor
      << (blas.core.empty() ? "" : " core " + blas.core) << ", " << runtime::cpuModel() << "\n";

  std::vector<Shape> shapes;
  if (only.empty() || only == "mouse") shapes.push_back({"mouse 4L d128", mouseShape(), {1, 32}});
  if (only.empty() || only == "vit-b16") shapes.push_back({"ViT-B/16", vitBase16Shape(), {1, 8}});
  std::snprintf(line, sizeof line, "%-14s %5s %-11s %10s %9s %9s %8s\n", "model", "batch", "mode",
                "ms/batch", "img/s", "GFLOP/s", "%matmul");
  out << line;
  struct Row {
    const char* model;
    int batch;
    const char* mode;
    double flops, seconds;
  };
  std::vector<Row> rows;
  for (auto& s : shapes) {
    HookedViT model(s.cfg);
    model->init_weights(kBenchSeed);
    model->eval();
    for (int b : s.batches) {
      torch::Tensor x = torch::randn({b, s.cfg.n_channels, s.cfg.image_size, s.cfg.image_size});
      const double flops = forwardFlops(s.cfg) * b;
      const double plain = medianSeconds(reps, [&] { model->forward(x); });
      const double cached = medianSeconds(reps, [&] { model->run_with_cache(x); });
      rows.push_back({s.name, b, "forward", flops, plain});
      rows.push_back({s.name, b, "full cache", flops, cached});
    }
    matmul.push_back(runtime::measureMatmulGflops(kMatmulSize));
  }
  std::vector<double> sorted = matmul;
  std::sort(sorted.begin(), sorted.end());
  const double ceiling = sorted[sorted.size() / 2];
  for (const Row& r : rows) {
    const double rate = r.flops / r.seconds / 1e9;
    std::snprintf(line, sizeof line, "%-14s %5d %-11s %10.2f %9.1f %9.1f %7.0f%%\n", r.model, r.batch, r.mode,
                  r.seconds * 1e3, r.batch / r.seconds, rate, 100.0 * rate / ceiling);
    out << line;
  }
  std::string all;
  for (double g : matmul) all += (all.empty() ? "" : ", ") + std::to_string(static_cast<int>(std::lround(g)));
  std::snprintf(line, sizeof line, "matmul %dx%d float32: median %.1f GFLOP/s of [%s] (before, between, after)\n",
                kMatmulSize, kMatmulSize, ceiling, all.c_str());
  out << line;
  return 0;
}

}  // namespace prisma::cli
