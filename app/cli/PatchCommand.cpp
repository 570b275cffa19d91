// `prisma patch`: an activation-patching (or attribution-patching) sweep of one
// component over a clean / corrupted image pair, written as a grid (.safetensors) or one
// row per cell (.csv). The library does the work (model/interp/ActivationPatching.h).
// On a CLIP, --classes FILE|imagenet [--template T] installs the zero-shot head first, so
// the class metrics read CLIP's class prompts (and --labels may name them); a model whose
// output is a feature (DINOv2, ViTModel, CLIP without --classes) is scored by
// cosine_to_clean.

#include "app/cli/CliArgs.h"
#include "app/cli/ClipCommands.h"
#include "app/cli/Commands.h"
#include "app/cli/OutputChecks.h"
#include "app/cli/PatchArgs.h"

#include "model/Error.h"
#include "model/interp/ActivationPatching.h"
#include "model/interp/AttributionPatching.h"
#include "model/io/InputSpec.h"
#include "model/io/OutputPaths.h"
#include "model/io/SafeTensors.h"

#include <torch/torch.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <ostream>
#include <sstream>

#include <unistd.h>

namespace prisma::cli {

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void writeCsv(const std::string& path, const interp::PatchComponent& comp, const torch::Tensor& grid) {
  std::ostringstream f;
  for (const auto& axis : comp.axes) f << interp::toString(axis) << ",";
  f << "value\n" << std::setprecision(9);
  const torch::Tensor flat = grid.reshape({-1});
  for (const auto& cell : comp.cells()) {
    for (int64_t i : cell) f << i << ",";
    f << flat[comp.offset(cell)].item<float>() << "\n";
  }
  writeCsvText(path, f.str());
}

}  // namespace

int patchCommand(const Args& args, std::ostream& out) {
  CliArgs a(args,
            {"clean", "corrupt", "component", "metric", "labels", "label", "method", "out", "batch", "positions",
             "classes", "template"},
            {"normalize", kAllowNanFlag});
  std::vector<std::string> inputs = io::modelInputPaths(a.positional(0, "MODEL"));
  for (const char* spec : {"clean", "corrupt"}) inputs.push_back(io::inputSpecPath(a.required(spec)));
  io::refuseOutputOverInputs(a.required("out"), io::OutputKind::File, inputs);
  auto m = loadModelForPatching(a.positional(0, "MODEL"), a.value("classes"),
                                a.value("template", clip::kDefaultTemplate));
  HookedViTImpl& model = *m.model;
  const ViTConfig& cfg = model.cfg();
  const torch::Tensor clean = io::loadInput(a.required("clean"), m);
  const torch::Tensor corrupt = io::loadInput(a.required("corrupt"), m);
  if (clean.size(0) != 1 || corrupt.size(0) != 1)
    throw UsageError("--clean and --corrupt must each be one image (pick one of a batch with :INDEX)");
  const std::string path = a.required("out");
  if (!endsWith(path, ".safetensors") && !endsWith(path, ".csv"))
    throw UsageError("--out must end in .safetensors or .csv");
  const std::string method = a.value("method", "exact");
  if (method != "exact" && method != "attribution") throw UsageError("--method must be exact or attribution");
  // The metric and the classes it is about; left out, they are the two predictions.
  const interp::MetricSpec asked =
      metricSpecFromArgs(a, {cfg.n_classes, !clip::outputIsFeature(m), cfg.class_names});
  if (asked.normalized && method == "attribution") throw UsageError("--normalize applies to --method exact");

  const auto kind = interp::componentKindFromName(a.required("component"));
  const interp::PatchComponent comp =
      a.has("positions") ? interp::makePositionsComponent(kind, parseInts(a.value("positions"), "positions"), cfg)
                         : interp::makeComponent(kind, cfg);

  const auto t0 = std::chrono::steady_clock::now();
  const interp::PatchingPair pair = interp::runPair(model, clean, corrupt, interp::hooksOf({comp}, cfg));

  const interp::MetricSpec spec =
      asked.withDefaultClasses(pair.clean_logits.argmax(1).item<int>(), pair.corrupt_logits.argmax(1).item<int>());
  const std::string metric_name = interp::toString(spec.kind);
  const std::vector<int>& labels = spec.classes;
  const interp::Metric base = interp::makeMetric(spec.base(), pair.clean_logits, pair.corrupt_logits);
  const double clean_metric = interp::metricValue(base, pair.clean_logits);
  const double corrupt_metric = interp::metricValue(base, pair.corrupt_logits);
  const interp::Metric metric = interp::makeMetric(spec, pair.clean_logits, pair.corrupt_logits);

  torch::Tensor grid;
  if (method == "exact") {
    interp::PatchOptions options;
    options.batch_size = a.intValue("batch", 0, kNonNegative);
    if (isatty(STDERR_FILENO)) {  // long sweeps (ViT-B: minutes) show where they are
      options.on_progress = [](const interp::PatchProgress& p) {
        std::cerr << "\r" << p.done << "/" << p.total << " cells" << (p.done == p.total ? "\n" : "") << std::flush;
      };
    }
    grid = interp::activationPatch(model, pair, comp, metric, options).values;
  } else {
    grid = interp::attributionPatch(model, pair, comp, metric);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  checkFiniteResults({{"result", grid},
                      {"clean_metric", torch::tensor(clean_metric)},
                      {"corrupt_metric", torch::tensor(corrupt_metric)}},
                     path, a.flag(kAllowNanFlag));

  if (endsWith(path, ".csv")) {
    writeCsv(path, comp, grid);
  } else {
    std::vector<float> label_values(labels.begin(), labels.end());
    std::string axes, label_names;
    for (const auto& axis : comp.axes) axes += (axes.empty() ? "" : ",") + interp::toString(axis);
    std::map<std::string, torch::Tensor> tensors{{"result", grid.contiguous()},
                                                 {"clean_metric", torch::tensor({float(clean_metric)})},
                                                 {"corrupt_metric", torch::tensor({float(corrupt_metric)})}};
    if (!labels.empty()) tensors["labels"] = torch::tensor(label_values);  // cosine_to_clean has none
    std::map<std::string, std::string> meta{{"model", m.source}, {"component", comp.name}, {"axes", axes},
                                            {"metric", metric_name}, {"normalized", spec.normalized ? "true" : "false"},
                                            {"method", method}, {"clean", a.required("clean")},
                                            {"corrupt", a.required("corrupt")}};
    if (a.has("classes")) {
      meta["classes"] = a.value("classes");
      meta["template"] = a.value("template", clip::kDefaultTemplate);
    }
    for (int c : labels)
      if (c < static_cast<int>(cfg.class_names.size()))
        label_names += (label_names.empty() ? "" : "\n") + cfg.class_names[static_cast<size_t>(c)];
    if (!label_names.empty()) meta["label_names"] = label_names;  // one per line: names may hold commas
    io::writeSafeTensors(path, tensors, meta);
  }
  std::ostringstream shape;
  for (size_t i = 0; i < comp.shape.size(); ++i) shape << (i ? "x" : "") << comp.shape[i];
  out << "prisma patch: " << comp.name << " [" << shape.str() << "], " << method << ", " << metric_name;
  for (size_t i = 0; i < labels.size(); ++i) {
    out << (i ? "," : " ") << labels[i];
    if (labels[i] < static_cast<int>(cfg.class_names.size()))
      out << " (" << cfg.class_names[static_cast<size_t>(labels[i])] << ")";
  }
  out << "; clean " << clean_metric << ", corrupt " << corrupt_metric << "; " << comp.cell_count() << " cells in "
      << std::fixed << std::setprecision(2) << seconds << " s; wrote " << path << "\n";
  return 0;
}

}  // namespace prisma::cli
