// `prisma bench patch`: the cost of exact activation patching done TransformerLens' way
// (one full forward pass per cell) against this project's fast path (start at the
// patched layer, many cells per batch), and of attribution patching, on a ViT-B/16-shaped
// model with random weights and one image pair. Every time is also given in
// forward-equivalents (FE): time ÷ the time of one plain batch-1 forward pass measured in
// the same process, which makes figures comparable across machines.
//
// Physics: a patch at layer l must recompute layers l..11 for every token, so the exact
// floor averages (12 + 11 + ... + 1) / (12 · 12) = 0.54 FE per cell; batching can only
// win back what batch-1 products lose to BLAS inefficiency.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"

#include "model/interp/ActivationPatching.h"
#include "model/interp/AttributionPatching.h"
#include "model/runtime/Runtime.h"
#include "model/vit/ModelShapes.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <ostream>

namespace prisma::cli {

namespace {

constexpr uint64_t kModelSeed = 0;
constexpr uint64_t kImageSeed = 1;
constexpr int kDefaultSample = 24;      // per-cell resid_pre runs timed, then extrapolated
constexpr int kScanLayer = 6;           // the layer the batch-size scan patches (ideal 0.5 FE/cell)
constexpr int kScanCells = 64;
constexpr double kGoalFastFePerCell = 0.6;
constexpr double kGoalMaxAbsDiff = 1e-4;
constexpr double kGoalAttributionFe = 3.0;

double seconds(const std::chrono::steady_clock::time_point& t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <typename Fn>
double timed(Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return seconds(t0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Max |a − b| over the cells where both are defined.
double maxDiff(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor both = torch::isnan(a).logical_not() & torch::isnan(b).logical_not();
  return (a.masked_select(both).to(torch::kFloat64) - b.masked_select(both).to(torch::kFloat64))
      .abs().max().item<double>();
}

}  // namespace

int benchPatchCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, {"batch", "sample", "reps", "threads"}, {"batch-scan"});
  const int batch = a.intValue("batch", 0, kNonNegative);
  const int sample = a.intValue("sample", kDefaultSample, kCount);
  const int reps = a.intValue("reps", 5, kCount);
  if (a.has("threads")) at::set_num_threads(a.intValue("threads", 1, kCount));
  torch::NoGradGuard no_grad;

  const ViTConfig cfg = vitBase16Shape();
  HookedViT model(cfg);
  model->init_weights(kModelSeed);
  model->eval();
  torch::manual_seed(kImageSeed);
  const torch::Tensor clean = torch::randn({1, cfg.n_channels, cfg.image_size, cfg.image_size});
  const torch::Tensor corrupt = torch::randn({1, cfg.n_channels, cfg.image_size, cfg.image_size});

  const auto blas = runtime::blasInfo();
  char line[1024];
  out << "prisma bench patch: ViT-B/16 shape (random weights, seed " << kModelSeed << "), " << cfg.n_tokens()
      << " tokens, one image pair; float32, " << at::get_num_threads() << " threads, " << blas.vendor
      << (blas.core.empty() ? "" : " core " + blas.core) << ", " << runtime::cpuModel() << "\n";

  const interp::PatchComponent resid = interp::makeComponent(interp::ComponentKind::ResidPre, cfg);
  const interp::PatchComponent head_z = interp::makeComponent(interp::ComponentKind::HeadZ, cfg);
  interp::PatchingPair pair;
  model->forward(clean);  // warm-up
  const double t_pair = timed([&] { pair = interp::runPair(*model, clean, corrupt, interp::hooksOf({resid, head_z}, cfg)); });
  const int class_a = pair.clean_logits.argmax(1).item<int>();
  int class_b = pair.corrupt_logits.argmax(1).item<int>();
  if (class_b == class_a) class_b = std::get<1>(pair.corrupt_logits.topk(2, 1))[0][1].item<int>();
  const interp::Metric metric = interp::metrics::logitDiff(class_a, class_b);

  // One plain forward pass is the unit. The machine is shared and its speed drifts by tens
  // of per cent within minutes, so every piece of work is followed by a probe of the plain
  // forward and expressed in the median of the probes around it (local forward-
  // equivalents); costs are then medians over comparable pieces. Probe time is counted
  // nowhere.
  std::vector<double> probes;
  auto probe = [&] { probes.push_back(timed([&] { model->forward(clean); })); };
  probe();
  struct Piece {
    double seconds;
    size_t probe;  // the probe right after it
    int64_t cells;
  };
  auto measure = [&](const auto& fn) {
    const double t = timed(fn);
    probe();
    return Piece{t, probes.size() - 1, 0};
  };
  auto fe = [&](const Piece& p) {  // probes p-2 .. p+1: two before the piece, two after
    const size_t lo = p.probe >= 2 ? p.probe - 2 : 0, hi = std::min(probes.size(), p.probe + 2);
    return p.seconds / median(std::vector<double>(probes.begin() + lo, probes.begin() + hi));
  };
  struct Cost {
    double seconds = 0, fe = 0;
  };
  // A group of comparable pieces costs its cells × the median FE per cell of its pieces.
  auto cost = [&](const std::vector<Piece>& pieces, int64_t cells) {
    Cost c;
    std::vector<double> per_cell;
    for (const auto& p : pieces) {
      c.seconds += p.seconds;
      per_cell.push_back(fe(p) / p.cells);
    }
    c.fe = median(per_cell) * cells;
    return c;
  };

  const int max_batch = batch > 0 ? batch : interp::autoBatchSize(cfg);
  // The batches activationPatch itself makes of one layer's cells.
  auto batchesOf = [max_batch](const std::vector<interp::CellIndex>& cells) {
    const size_t n = cells.size(), n_batches = (n + max_batch - 1) / max_batch, per = (n + n_batches - 1) / n_batches;
    std::vector<std::vector<interp::CellIndex>> out;
    for (size_t b = 0; b < n; b += per) out.emplace_back(cells.begin() + b, cells.begin() + std::min(n, b + per));
    return out;
  };
  auto layerCells = [](const interp::PatchComponent& comp, int64_t layer) {
    std::vector<interp::CellIndex> cells;
    for (const auto& c : comp.cells())
      if (c[0] == layer) cells.push_back(c);
    return cells;
  };
  auto runCells = [&](const interp::PatchComponent& comp, const std::vector<interp::CellIndex>& cells,
                      interp::PatchMethod method, int batch_size, torch::Tensor& grid) {
    interp::PatchOptions o;
    o.method = method;
    o.batch_size = batch_size;
    o.cells = cells;
    interp::PatchResult r;
    Piece p = measure([&] { r = interp::activationPatch(*model, pair, comp, metric, o); });
    p.cells = static_cast<int64_t>(cells.size());
    if (grid.defined()) {
      const torch::Tensor done = torch::isnan(r.values).logical_not();
      grid.masked_scatter_(done, r.values.masked_select(done));
    }
    return p;
  };

  if (a.flag("batch-scan")) {
    // The fast path at one layer for several batch sizes: BLAS efficiency vs cache misses.
    const std::vector<interp::CellIndex> all = layerCells(resid, kScanLayer);
    const std::vector<interp::CellIndex> cells(all.begin(), all.begin() + kScanCells);
    out << "batch-size scan: " << kScanCells << " resid_pre cells at layer " << kScanLayer << " (floor at batch-1 speed "
        << double(cfg.n_layers - kScanLayer) / cfg.n_layers << " FE/cell), median of " << reps << "\n";
    torch::Tensor none;
    for (int b : {1, 2, 4, 8, 12, 16, 24, 32, 64}) {
      std::vector<Piece> pieces;
      for (int i = 0; i < reps; ++i) pieces.push_back(runCells(resid, cells, interp::PatchMethod::Fast, b, none));
      const Cost c = cost(pieces, kScanCells);
      std::snprintf(line, sizeof line, "  batch %3d: %7.2f s per run  %5.3f FE/cell\n", b, c.seconds / reps,
                    c.fe / kScanCells);
      out << line << std::flush;
    }
    return 0;
  }

  // Layer by layer, so the methods see the same machine: the fast way on every resid_pre
  // cell, TransformerLens' way on a spread sample of them (sample / layers per layer: every
  // cell costs one full forward whatever its layer, so the sample extrapolates), and both
  // ways on every head_z cell.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  torch::Tensor tl_resid = torch::full(resid.shape, nan), fast_resid = tl_resid.clone();
  torch::Tensor tl_head = torch::full(head_z.shape, nan), fast_head = tl_head.clone();
  std::vector<std::vector<Piece>> fast_resid_by_layer(cfg.n_layers), fast_head_by_layer(cfg.n_layers);
  std::vector<Piece> tl_resid_cells, tl_head_layers;
  for (int l = 0; l < cfg.n_layers; ++l) {
    for (const auto& b : batchesOf(layerCells(resid, l)))
      fast_resid_by_layer[l].push_back(runCells(resid, b, interp::PatchMethod::Fast, max_batch, fast_resid));
    for (int i = l; i < sample; i += cfg.n_layers)
      tl_resid_cells.push_back(runCells(resid, {{l, (i * 37 + 11) % cfg.n_tokens()}},
                                        interp::PatchMethod::PerCellForward, 1, tl_resid));
    for (const auto& b : batchesOf(layerCells(head_z, l)))
      fast_head_by_layer[l].push_back(runCells(head_z, b, interp::PatchMethod::Fast, max_batch, fast_head));
    tl_head_layers.push_back(runCells(head_z, layerCells(head_z, l), interp::PatchMethod::PerCellForward, 1, tl_head));
    out << "." << std::flush;
  }
  out << "\n";
  Cost c_fast_resid, c_fast_head;
  std::string by_layer;
  for (int l = 0; l < cfg.n_layers; ++l) {
    const Cost r = cost(fast_resid_by_layer[l], cfg.n_tokens()), h = cost(fast_head_by_layer[l], cfg.n_heads);
    std::snprintf(line, sizeof line, " %d:%.2f", l, r.fe / cfg.n_tokens());
    by_layer += line;
    c_fast_resid.seconds += r.seconds;
    c_fast_resid.fe += r.fe;
    c_fast_head.seconds += h.seconds;
    c_fast_head.fe += h.fe;
  }
  Cost c_tl_resid = cost(tl_resid_cells, resid.cell_count());
  c_tl_resid.seconds *= double(resid.cell_count()) / tl_resid_cells.size();  // extrapolated wall time
  const Cost c_tl_head = cost(tl_head_layers, head_z.cell_count());

  // Attribution from scratch: the clean forward (cache) + the corrupted forward and backward.
  auto attribution = [&](const std::vector<interp::PatchComponent>& comps) {
    std::vector<Piece> runs;
    for (int i = 0; i < reps; ++i) {
      runs.push_back(measure([&] {
        interp::PatchingPair p;
        p.corrupt_input = corrupt;
        p.clean = model->run_with_cache(clean, interp::hooksOf(comps, cfg)).cache;
        interp::attributionPatch(*model, p, comps, metric);
      }));
      runs.back().cells = 1;  // the grid is the unit
    }
    Cost c = cost(runs, 1);
    c.seconds /= reps;
    return c;
  };
  const Cost c_attr_resid = attribution({resid});
  const Cost c_attr_head = attribution({head_z});
  const Cost c_attr_both = attribution({resid, head_z});
  // The marginal cost once the pair's clean run is cached (the explorer's case): one
  // corrupted forward and backward for every grid.
  std::vector<Piece> marginal;
  for (int i = 0; i < reps; ++i) {
    marginal.push_back(measure([&] { interp::attributionPatch(*model, pair, {resid, head_z}, metric); }));
    marginal.back().cells = 1;
  }
  Cost c_attr_marginal = cost(marginal, 1);
  c_attr_marginal.seconds /= reps;

  std::vector<double> sorted = probes;
  std::sort(sorted.begin(), sorted.end());
  std::snprintf(line, sizeof line,
                "plain forward, batch 1: median %.1f ms, min %.1f, max %.1f over %zu probes between the pieces of work\n"
                "clean + corrupted runs with cache (shared by every exact sweep): %.2f s\n"
                "metric: logit[%d] - logit[%d]; clean %.4f, corrupt %.4f; fast resid_pre grid spans [%.4f, %.4f]\n",
                median(probes) * 1e3, sorted.front() * 1e3, sorted.back() * 1e3, sorted.size(), t_pair, class_a,
                class_b, interp::metricValue(metric, pair.clean_logits), interp::metricValue(metric, pair.corrupt_logits),
                fast_resid.min().item<double>(), fast_resid.max().item<double>());
  out << line;
  std::snprintf(line, sizeof line, "%-18s %-36s %6s %10s %10s %8s %10s\n", "grid", "method", "cells", "seconds",
                "FE total", "FE/cell", "max|diff|");
  out << line;
  auto row = [&](const char* grid, const std::string& method, int64_t cells, const Cost& c, const std::string& diff) {
    std::snprintf(line, sizeof line, "%-18s %-36s %6lld %10.2f %10.1f %8.3f %10s\n", grid, method.c_str(),
                  static_cast<long long>(cells), c.seconds, c.fe, c.fe / cells, diff.c_str());
    out << line;
  };
  auto sci = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2e", v);
    return std::string(b);
  };
  const std::string batch_text = "batch " + std::to_string(max_batch);
  row("resid_pre 12x197", "per-cell forward (TL), " + std::to_string(tl_resid_cells.size()) + " sampled*",
      resid.cell_count(), c_tl_resid, "-");
  row("resid_pre 12x197", "fast exact, " + batch_text, resid.cell_count(), c_fast_resid,
      sci(maxDiff(fast_resid, tl_resid)));
  row("head_z 12x12", "per-cell forward (TL)", head_z.cell_count(), c_tl_head, "-");
  row("head_z 12x12", "fast exact, " + batch_text, head_z.cell_count(), c_fast_head, sci(maxDiff(fast_head, tl_head)));
  row("resid_pre 12x197", "attribution (clean fwd + fwd/bwd)", resid.cell_count(), c_attr_resid, "approx.");
  row("head_z 12x12", "attribution (clean fwd + fwd/bwd)", head_z.cell_count(), c_attr_head, "approx.");
  row("both grids", "attribution, one backward", resid.cell_count() + head_z.cell_count(), c_attr_both, "approx.");
  row("both grids", "attribution, clean run cached", resid.cell_count() + head_z.cell_count(), c_attr_marginal,
      "approx.");
  out << "fast resid_pre FE/cell by layer (floor at batch-1 speed (12 - layer)/12, less ~0.07 for the pooled\n"
         "  readout below the last layer):"
      << by_layer << "\n";
  std::snprintf(line, sizeof line,
                "seconds: wall time (* extrapolated from %zu cells run one full forward each; max|diff| is over those\n"
                "  cells; attribution: mean of %d runs). FE: forward-equivalents, each piece of work divided by the\n"
                "  plain forward measured around it, then the median per cell over comparable pieces (per layer\n"
                "  for the fast sweeps) times the cells.\n"
                "speed-up of fast exact over per-cell forwards (FE): resid_pre %.1fx, head_z %.1fx\n"
                "goals: fast exact <= %.1f FE/cell with max|diff| <= %.0e (resid_pre %.3f, head_z %.3f); "
                "attribution <= %.0f FE per grid (resid_pre %.2f, head_z %.2f)\n",
                tl_resid_cells.size(), reps, c_tl_resid.fe / c_fast_resid.fe, c_tl_head.fe / c_fast_head.fe,
                kGoalFastFePerCell, kGoalMaxAbsDiff, c_fast_resid.fe / resid.cell_count(),
                c_fast_head.fe / head_z.cell_count(), kGoalAttributionFe, c_attr_resid.fe, c_attr_head.fe);
  out << line;
  return 0;
}

}  // namespace prisma::cli
