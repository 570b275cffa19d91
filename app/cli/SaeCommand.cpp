// `prisma sae`: sparse autoencoders (model/sae). `info` describes an SAE file, `encode`
// runs one over images and writes every stage; `train` and `eval` are in
// SaeTrainCommand.cpp.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/OutputChecks.h"
#include "app/cli/SaeCli.h"

#include "model/Error.h"
#include "model/io/InputSpec.h"
#include "model/io/ModelLoader.h"
#include "model/io/OutputPaths.h"
#include "model/io/SafeTensors.h"
#include "model/sae/FeatureDatabase.h"
#include "model/sae/SaeFiles.h"
#include "model/sae/SaeRun.h"

#include <torch/torch.h>

#include <iomanip>
#include <iostream>
#include <ostream>

namespace prisma::cli {

namespace {

constexpr const char* kSaeUsage =
    "usage: prisma sae info SAE\n"
    "       prisma sae encode SAE --model MODEL --input SPEC --out OUT.safetensors [--allow-nan]\n"
    "       prisma sae train --model MODEL --dataset NAME --hook HOOK --out DIR [--tokens all|cls|patches]\n"
    "             [--expansion E | --d-sae N] [--activation relu|topk --k K] [--normalize none|layer_norm|\n"
    "             constant_norm_rescale] [--l1 X] [--lr X] [--batch IMAGES] [--rows-per-step N] [--buffer-rows N]\n"
    "             [--max-steps S] [--epochs E] [--warmup N] [--log-every N] [--eval-batches N]\n"
    "             [--checkpoint-every N] [--b-dec-init geometric_median|mean|zeros] [--dead-window N]\n"
    "             [--resample-every N] [--seed S] [--dataset-path P] [--threads N] | --resume DIR [--max-steps S]\n"
    "             [--nproc N | --rank R --world-size W --master-addr HOST --master-port P] [--timeout-s S]\n"
    "       prisma sae eval SAE [--model MODEL] --dataset NAME [--split test|train] [--limit N] [--batch B]\n"
    "             [--seed S] [--dataset-path P]\n"
    "       prisma sae features SAE [--model MODEL] --dataset NAME --out DIR [--split test|train] [--limit N]\n"
    "             [--top-k K] [--batch B] [--seed S] [--dataset-path P]\n"
    "       prisma sae top DB|sae:NAME [--feature F] [--count N]\n"
    "SAE: sae:NAME (bundled, e.g. sae:induction-2L), a folder (ours: sae.json + sae.safetensors;\n"
    "     SAELens: cfg.json + sae_weights.safetensors; ViT-Prisma: config.json + n_images_N.pt)\n"
    "     or a ViT-Prisma .pt file\n";

int saeInfo(const Args& args, std::ostream& out) {
  CliArgs a(args, {}, {});
  const sae::LoadedSae loaded = sae::loadSae(a.positional(0, "SAE"));
  const sae::SaeConfig& c = loaded.sae->cfg();
  torch::NoGradGuard no_grad;
  const torch::Tensor dec_norms = loaded.sae->W_dec.norm(2, 1);  // [d_sae]
  out << "source: " << loaded.source << "\n"
      << "format: " << loaded.format << "\n"
      << "hook: " << c.hook_name << "\n"
      << "model: " << (c.model_name.empty() ? "(not recorded)" : c.model_name) << "\n"
      << "d_in: " << c.d_in << "\n"
      << "d_sae: " << c.d_sae << " (expansion " << std::setprecision(4) << double(c.d_sae) / double(c.d_in) << ")\n"
      << "activation: " << sae::activationName(c.activation);
  if (c.activation == sae::Activation::TopK) out << " (k = " << c.k << ")";
  out << "\n"
      << "input normalisation: " << sae::normalizationName(c.normalization)
      << (c.subtract_b_dec ? ", b_dec subtracted" : "") << "\n"
      << "tokens: " << sae::tokenSelectionName(c.tokens) << "\n"
      << "l1 coefficient: " << c.l1_coefficient << "\n"
      << "decoder row norms: min " << dec_norms.min().item<double>() << ", max " << dec_norms.max().item<double>()
      << "\n";
  for (const auto& note : loaded.notes) out << "note: " << note << "\n";
  if (!loaded.training.is_null()) out << "training: " << loaded.training.dump() << "\n";
  return 0;
}

int saeEncode(const Args& args, std::ostream& out) {
  CliArgs a(args, {"model", "input", "out"}, {kAllowNanFlag});
  const std::string sae_path = a.positional(0, "SAE");
  const std::string path = a.required("out");
  std::vector<std::string> inputs = io::modelInputPaths(a.required("model"));
  inputs.push_back(io::inputSpecPath(a.required("input")));
  inputs.push_back(sae::resolveSaePath(sae_path));
  io::refuseOutputOverInputs(path, io::OutputKind::File, inputs);
  if (path.size() < 12 || path.compare(path.size() - 12, 12, ".safetensors") != 0)
    throw UsageError("--out must end in .safetensors");

  const sae::LoadedSae loaded = sae::loadSae(sae_path);
  auto m = io::loadModel(a.required("model"));
  const torch::Tensor pixels = io::loadInput(a.required("input"), m);
  const sae::SaeRunResult r = sae::runSaeOnImages(*m.model, loaded.sae, pixels);
  const std::map<std::string, torch::Tensor> tensors = {
      {"sae_in", r.sae_in.contiguous()},
      {"feature_acts", r.feature_acts.contiguous()},
      {"sae_out", r.sae_out.contiguous()},
      {"logits", r.logits.contiguous()},
      {"logits_with_sae", r.logits_with_sae.contiguous()}};
  checkFiniteResults(tensors, path, a.flag(kAllowNanFlag));
  io::writeSafeTensors(path, tensors,
                       {{"sae", sae_path}, {"model", m.source}, {"input", a.required("input")},
                        {"hook", loaded.sae->cfg().hook_name}, {"rows", "batch-major: row = image * tokens + token"}});
  const double l0 = (r.feature_acts > 0).sum(1).to(torch::kFloat64).mean().item<double>();
  out << "prisma sae encode: " << r.sae_in.size(0) << " rows of " << loaded.sae->cfg().hook_name << " ("
      << pixels.size(0) << " images); mean L0 " << std::setprecision(4) << l0 << " of " << loaded.sae->cfg().d_sae
      << "; wrote " << path << "\n";
  return 0;
}

int saeFeatures(const Args& args, std::ostream& out) {
  std::vector<std::string> valued = saeDataOptionNames();
  valued.insert(valued.end(), {"top-k", "out"});
  CliArgs a(args, valued, {});
  const std::string sae_spec = a.positional(0, "SAE");
  const sae::LoadedSae loaded = sae::loadSae(sae_spec);
  const std::string dir = a.required("out");
  io::refuseOutputOverInputs(dir, io::OutputKind::Folder, {loaded.source});
  SaeDataSetup setup = saeDataSetup(a, loaded, SaeClassCount::Dataset);
  sae::FeatureDatabaseOptions o;
  o.part = setup.part;
  o.limit = setup.limit;
  o.batch = setup.batch;
  o.top_k = a.intValue("top-k", 16, kCount);
  size_t last_percent = 101;
  o.progress = [&](size_t done, size_t total) {
    const size_t percent = total ? done * 100 / total : 100;
    if (percent / 10 != last_percent / 10) std::cerr << "  " << done << "/" << total << " images" << std::endl;
    last_percent = percent;
  };
  const sae::FeatureDatabase db = sae::buildFeatureDatabase(*setup.model.model, loaded.sae, *setup.data, o);
  // The SAE and model as given (sae:NAME, mouse:NAME stay portable), not resolved paths.
  sae::saveFeatureDatabase(db, dir,
                           {{"sae", sae_spec}, {"model", setup.model_spec}, {"hook", loaded.sae->cfg().hook_name},
                            {"dataset", setup.dataset->name()}, {"split", setup.split}, {"top_k", o.top_k},
                            // what reopens the same images (the Features tab's thumbnails)
                            {"seed", setup.seed}, {"dataset_path", setup.dataset_path},
                            {"tokens", sae::tokenSelectionName(loaded.sae->cfg().tokens)}});
  const double dead = (db.density == 0).to(torch::kFloat64).mean().item<double>();
  out << "prisma sae features: " << db.images << " images, " << db.rows << " rows, " << db.density.size(0)
      << " features (" << std::setprecision(3) << 100.0 * dead << " % never fire); wrote " << dir << "\n";
  return 0;
}

int saeTop(const Args& args, std::ostream& out) {
  CliArgs a(args, {"feature", "count"}, {});
  const sae::FeatureDatabase db = sae::loadFeatureDatabase(a.positional(0, "DB"));
  const int64_t d_sae = db.density.size(0);
  const int count = a.intValue("count", 10, kCount);
  out << std::setprecision(4);
  if (!a.has("feature")) {
    // The features that fire most strongly on their best image.
    const torch::Tensor best = db.top_values.select(1, 0);  // [d_sae]
    auto [values, order] = best.topk(std::min<int64_t>(count, d_sae));
    out << "feature  max_act  density  top_class\n";
    for (int64_t i = 0; i < order.size(0); ++i) {
      const int64_t f = order[i].item<int64_t>();
      const int64_t cls = db.class_counts[f].argmax().item<int64_t>();
      out << f << "  " << values[i].item<double>() << "  " << db.density[f].item<double>() << "  "
          << (cls < int64_t(db.class_names.size()) ? db.class_names[cls] : std::to_string(cls)) << "\n";
    }
    return 0;
  }
  const int f = a.intValue("feature", 0, IntRange{0, int(d_sae - 1)});
  out << "feature " << f << ": density " << db.density[f].item<double>() << ", mean when firing "
      << db.mean_when_firing[f].item<double>() << "\n  top images (position in the split, max activation, best token):\n";
  for (int64_t i = 0; i < std::min<int64_t>(count, db.top_values.size(1)); ++i) {
    if (db.top_images[f][i].item<int64_t>() < 0) break;
    out << "    " << db.top_images[f][i].item<int64_t>() << "  " << db.top_values[f][i].item<double>() << "  "
        << db.top_token_acts[f][i].argmax().item<int64_t>() << "\n";
  }
  const torch::Tensor counts = db.class_counts[f];
  auto [n, classes] = counts.topk(std::min<int64_t>(3, counts.size(0)));
  out << "  top classes:";
  for (int64_t i = 0; i < classes.size(0); ++i) {
    const int64_t c = classes[i].item<int64_t>();
    out << " " << (c < int64_t(db.class_names.size()) ? db.class_names[c] : std::to_string(c)) << " ("
        << n[i].item<int64_t>() << ")";
  }
  out << "\n";
  return 0;
}

}  // namespace

int saeCommand(const Args& args, std::ostream& out) {
  if (args.empty()) throw UsageError(std::string("missing sub-command\n") + kSaeUsage);
  const std::string sub = args[0];
  const Args rest(args.begin() + 1, args.end());
  if (sub == "info") return saeInfo(rest, out);
  if (sub == "encode") return saeEncode(rest, out);
  if (sub == "train") return saeTrainCommand(rest, out);
  if (sub == "eval") return saeEvalCommand(rest, out);
  if (sub == "features") return saeFeatures(rest, out);
  if (sub == "top") return saeTop(rest, out);
  if (sub == "--help" || sub == "-h") {
    out << kSaeUsage;
    return 0;
  }
  throw UsageError("unknown sub-command '" + sub + "'\n" + kSaeUsage);
}

}  // namespace prisma::cli
