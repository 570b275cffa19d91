// `prisma patch-dataset`: the activation-patching sweep of `prisma patch` over every
// (clean, corrupted) pair of a list, optionally spread over processes. A circuit found on
// one pair is an anecdote; its mean effect over many pairs is what researchers trust.
//
// Pairs are sharded across ranks in contiguous slices (rank r of W takes pairs
// [r·P/W, (r+1)·P/W)); every pair's grid is computed exactly as a single process would,
// then gathered on rank 0 round by round; rank 0 stacks them in list order, takes the
// mean and writes `mean`, `per_pair` [pairs, ...grid], and per pair `clean_metric`,
// `corrupt_metric` and the `labels` its metric used. So any world size writes the same file as one process
// running with the same thread count.

#include "app/cli/CliArgs.h"
#include "app/cli/ClipCommands.h"
#include "app/cli/Commands.h"
#include "app/cli/DistributedArgs.h"
#include "app/cli/LocalLauncher.h"
#include "app/cli/OutputChecks.h"
#include "app/cli/PatchArgs.h"

#include "model/Error.h"
#include "model/interp/ActivationPatching.h"
#include "model/interp/AttributionPatching.h"
#include "model/io/InputSpec.h"
#include "model/io/OutputPaths.h"
#include "model/io/SafeTensors.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <ostream>
#include <sstream>

namespace prisma::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPairsHeader = "clean,corrupt";

const std::string kUsage =
    "usage: prisma patch-dataset MODEL --pairs PAIRS.csv --component NAME --out OUT.safetensors\n"
    "        [--metric logit_diff [--labels A,B] | --metric prob|logit|cross_entropy [--label A]\n"
    "         | --metric cosine_to_clean] [--classes FILE|imagenet [--template T]]\n"
    "        [--normalize] [--method exact|attribution] [--positions P,...] [--batch N]\n"
    "        " + std::string(kDistributedUsage) + "\n"
    "PAIRS.csv: one `clean,corrupt` pair of input SPECs per line (an optional header line\n"
    "`clean,corrupt`, # comments); relative paths are relative to the CSV's folder.";

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

struct Pair {
  std::string clean, corrupt;
};

// A SPEC is a path, optionally followed by :KEY[:INDEX] for .safetensors inputs.
std::string resolveSpec(const std::string& spec, const fs::path& base) {
  if (spec.empty() || fs::path(spec).is_absolute()) return spec;
  return (base / spec).string();
}

std::vector<Pair> readPairs(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(path, "", "cannot open the pairs list");
  const fs::path base = fs::path(path).parent_path();
  std::vector<Pair> pairs;
  std::string line;
  int lineNo = 0;
  bool first = true;
  while (std::getline(f, line)) {
    ++lineNo;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (first && t == kPairsHeader) {
      first = false;
      continue;
    }
    first = false;
    const auto comma = t.find(',');
    if (comma == std::string::npos || t.find(',', comma + 1) != std::string::npos)
      throw Error(path, "line " + std::to_string(lineNo), "expected two columns clean,corrupt, got '" + t + "'");
    const std::string clean = trim(t.substr(0, comma)), corrupt = trim(t.substr(comma + 1));
    if (clean.empty() || corrupt.empty())
      throw Error(path, "line " + std::to_string(lineNo), "an empty input SPEC");
    pairs.push_back({resolveSpec(clean, base), resolveSpec(corrupt, base)});
  }
  if (pairs.empty()) throw Error(path, "", "no pairs in the list");
  return pairs;
}

// One pair's sweep with `prisma patch`'s metric options; labels default per pair to its
// clean and corrupted top classes.
struct PairResult {
  torch::Tensor grid;  // component.shape
  double clean_metric = 0, corrupt_metric = 0;
  std::vector<int> labels;
};

PairResult patchPair(const CliArgs& a, const interp::MetricSpec& asked, io::LoadedModel& m,
                     const interp::PatchComponent& comp, const Pair& p) {
  HookedViTImpl& model = *m.model;
  const ViTConfig& cfg = model.cfg();
  const torch::Tensor clean = io::loadInput(p.clean, m);
  const torch::Tensor corrupt = io::loadInput(p.corrupt, m);
  if (clean.size(0) != 1 || corrupt.size(0) != 1)
    throw Error(p.clean + " / " + p.corrupt, "", "each side of a pair must be one image (pick one with :INDEX)");
  const interp::PatchingPair pair = interp::runPair(model, clean, corrupt, interp::hooksOf({comp}, cfg));
  PairResult r;
  const interp::MetricSpec spec =
      asked.withDefaultClasses(pair.clean_logits.argmax(1).item<int>(), pair.corrupt_logits.argmax(1).item<int>());
  r.labels = spec.classes;
  const interp::Metric base = interp::makeMetric(spec.base(), pair.clean_logits, pair.corrupt_logits);
  r.clean_metric = interp::metricValue(base, pair.clean_logits);
  r.corrupt_metric = interp::metricValue(base, pair.corrupt_logits);
  const interp::Metric metric = interp::makeMetric(spec, pair.clean_logits, pair.corrupt_logits);
  if (a.value("method", "exact") == "exact") {
    interp::PatchOptions options;
    options.batch_size = a.intValue("batch", 0, kNonNegative);
    r.grid = interp::activationPatch(model, pair, comp, metric, options).values;
  } else {
    r.grid = interp::attributionPatch(model, pair, comp, metric);
  }
  return r;
}

}  // namespace

int patchDatasetCommand(const Args& args, std::ostream& out) {
  std::vector<std::string> valued{"pairs", "component", "metric", "labels", "label", "method", "out", "batch",
                                  "positions", "classes", "template"};
  for (const auto& name : distributedOptionNames()) valued.push_back(name);
  CliArgs a(args, valued, {"normalize", kAllowNanFlag});
  if (a.positionals().size() != 1) throw UsageError("one MODEL expected\n" + kUsage);
  const std::string outPath = a.required("out");
  if (outPath.size() < 12 || outPath.compare(outPath.size() - 12, 12, ".safetensors") != 0)
    throw UsageError("--out must end in .safetensors");
  const std::string method = a.value("method", "exact");
  if (method != "exact" && method != "attribution") throw UsageError("--method must be exact or attribution");
  const interp::MetricSpec unchecked = metricSpecFromArgs(a);  // options checked before any worker starts
  if (unchecked.normalized && method == "attribution") throw UsageError("--normalize applies to --method exact");
  const std::string pairsPath = a.required("pairs");
  const std::vector<Pair> pairs = readPairs(pairsPath);  // before any worker starts: errors once
  std::vector<std::string> inputs = io::modelInputPaths(a.positional(0, "MODEL"));
  inputs.push_back(pairsPath);
  for (const auto& p : pairs)
    for (const auto* spec : {&p.clean, &p.corrupt}) inputs.push_back(io::inputSpecPath(*spec));
  io::refuseOutputOverInputs(outPath, io::OutputKind::File, inputs);

  if (auto code = launchLocalWorkersIfRequested("patch-dataset", a, args)) return *code;
  const DistributedArgs dist = DistributedArgs::from(a);
  if (const int threads = dist.threads(); threads > 0) at::set_num_threads(threads);
  const auto group = dist.join();
  const int rank = dist.rank, world = dist.world_size;

  const auto t0 = std::chrono::steady_clock::now();
  io::LoadedModel m = loadModelForPatching(a.positional(0, "MODEL"), a.value("classes"),
                                           a.value("template", clip::kDefaultTemplate));
  const ViTConfig& cfg = m.model->cfg();
  const auto kind = interp::componentKindFromName(a.required("component"));
  const interp::PatchComponent comp =
      a.has("positions") ? interp::makePositionsComponent(kind, parseInts(a.value("positions"), "positions"), cfg)
                         : interp::makeComponent(kind, cfg);
  const interp::MetricSpec asked = metricSpecFromArgs(a, {cfg.n_classes, !clip::outputIsFeature(m), cfg.class_names});
  const std::string metric_name = interp::toString(asked.kind);
  const int nLabels = interp::classesNeeded(asked.kind);

  // This rank's pairs, one row each: the grid's cells, clean and corrupt metric, labels.
  const auto P = static_cast<int64_t>(pairs.size());
  auto sliceBegin = [&](int r) { return P * r / world; };
  const int64_t begin = sliceBegin(rank), end = sliceBegin(rank + 1);
  const int64_t perRankMax = (P + world - 1) / world;
  const int64_t cells = comp.cell_count();
  const int64_t rowWidth = cells + 2 + nLabels;
  // Round k: every rank runs its k-th pair, then rank 0 gathers that round's rows. The
  // ranks move in step, so no collective waits longer than about one pair's sweep: the
  // timeout can stay modest however long the whole list takes.
  std::vector<torch::Tensor> byRank(static_cast<size_t>(world));  // rank 0: [perRankMax, rowWidth] each
  for (int64_t k = 0; k < perRankMax; ++k) {
    torch::Tensor row = torch::full({rowWidth}, std::numeric_limits<float>::quiet_NaN());
    const int64_t i = begin + k;
    if (i < end) {
      if (rank == 0)
        std::cerr << "\rpair " << (k + 1) << "/" << (end - begin)
                  << (world > 1 ? " (rank 0 of " + std::to_string(world) + ")" : std::string()) << std::flush;
      PairResult r;
      try {
        r = patchPair(a, asked, m, comp, pairs[static_cast<size_t>(i)]);
      } catch (const UsageError&) {
        throw;
      } catch (const std::exception& e) {
        throw Error(pairsPath, "pair " + std::to_string(i + 1), e.what());
      }
      row.narrow(0, 0, cells).copy_(r.grid.reshape({-1}).to(torch::kFloat32));
      row[cells] = float(r.clean_metric);
      row[cells + 1] = float(r.corrupt_metric);
      for (int j = 0; j < nLabels; ++j) row[cells + 2 + j] = float(r.labels[static_cast<size_t>(j)]);
    }
    const std::vector<torch::Tensor> round = group ? group->gather(row, 0) : std::vector<torch::Tensor>{row};
    for (size_t r = 0; r < round.size(); ++r) {
      if (!byRank[r].defined()) byRank[r] = torch::empty({perRankMax, rowWidth});
      byRank[r][k].copy_(round[r]);
    }
  }
  if (rank == 0) std::cerr << "\n";
  if (rank != 0) return 0;

  std::vector<torch::Tensor> ordered;
  for (int r = 0; r < world; ++r)
    ordered.push_back(byRank[static_cast<size_t>(r)].narrow(0, 0, sliceBegin(r + 1) - sliceBegin(r)));
  const torch::Tensor all = torch::cat(ordered);  // [pairs, rowWidth]
  std::vector<int64_t> gridShape{P};
  for (int64_t s : comp.shape) gridShape.push_back(s);
  const torch::Tensor perPair = all.narrow(1, 0, cells).reshape(gridShape).contiguous();
  const torch::Tensor mean = perPair.mean(0);
  checkFiniteResults({{"mean", mean}, {"per_pair", perPair}, {"metrics", all.narrow(1, cells, 2)}}, outPath,
                     a.flag(kAllowNanFlag));
  std::string axes;
  for (const auto& axis : comp.axes) axes += (axes.empty() ? "" : ",") + interp::toString(axis);
  std::map<std::string, torch::Tensor> tensors{{"mean", mean.contiguous()},
                                               {"per_pair", perPair},
                                               {"clean_metric", all.select(1, cells).contiguous()},
                                               {"corrupt_metric", all.select(1, cells + 1).contiguous()}};
  if (nLabels > 0) tensors["labels"] = all.narrow(1, cells + 2, nLabels).contiguous();  // cosine_to_clean has none
  io::writeSafeTensors(outPath, tensors,
                       {{"model", m.source}, {"component", comp.name}, {"axes", axes}, {"metric", metric_name},
                        {"normalized", a.flag("normalize") ? "true" : "false"}, {"method", method},
                        {"pairs", pairsPath}, {"pair_count", std::to_string(P)},
                        {"world_size", std::to_string(world)}});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ostringstream shape;
  for (size_t i = 0; i < comp.shape.size(); ++i) shape << (i ? "x" : "") << comp.shape[i];
  out << "prisma patch-dataset: " << comp.name << " [" << shape.str() << "], " << method << ", " << metric_name
      << "; " << P << " pairs on " << world << " process" << (world > 1 ? "es" : "") << " in " << std::fixed
      << std::setprecision(2) << seconds << " s; mean over pairs: min " << mean.min().item<float>() << ", max "
      << mean.max().item<float>() << "; wrote " << outPath << "\n";
  return 0;
}

}  // namespace prisma::cli
