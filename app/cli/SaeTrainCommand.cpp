// `prisma sae train` and `prisma sae eval`: training an SAE on a hook of a model over a
// registry dataset (model/sae/SaeTraining.h), and its evaluation table
// (model/sae/SaeEvaluation.h).

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/DistributedArgs.h"
#include "app/cli/LocalLauncher.h"
#include "app/cli/SaeCli.h"

#include "model/Error.h"
#include "model/io/ModelLoader.h"
#include "model/sae/SaeEvaluation.h"
#include "model/sae/HookWidth.h"
#include "model/sae/SaeFiles.h"
#include "model/sae/SaeTraining.h"

#include <torch/torch.h>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <ostream>

namespace prisma::cli {

namespace {

sae::TokenSelection tokensOption(const std::string& v) {
  try {
    return sae::tokenSelectionFromName(v);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--tokens: ") + e.what());
  }
}

void progressLine(const train::TrainProgress& p) {
  if (p.phase == train::TrainPhase::Preparing) std::cerr << "  " << p.message << std::endl;
  if (p.phase != train::TrainPhase::Evaluated || !p.row) return;
  std::cerr << "  step " << p.row->step << "/" << p.total_steps << ": test mse "
            << p.row->scalar("test_mse") << ", L0 " << p.row->scalar("test_l0") << ", explained variance "
            << p.row->scalar("test_explained_variance") << ", dead " << p.row->scalar("test_dead_fraction")
            << std::endl;
}

}  // namespace

int saeTrainCommand(const Args& args, std::ostream& out) {
  std::vector<std::string> valued = {
      "model", "dataset", "dataset-path", "hook", "out", "tokens", "expansion", "d-sae", "activation", "k",
      "normalize", "l1", "lr", "batch", "rows-per-step", "buffer-rows", "max-steps", "epochs", "warmup",
      "log-every", "eval-batches", "checkpoint-every", "b-dec-init", "dead-window", "resample-every", "seed",
      "resume", "threads"};
  const auto& dist_names = distributedOptionNames();
  valued.insert(valued.end(), dist_names.begin(), dist_names.end());
  CliArgs a(args, valued, {});
  sae::SaeTrainConfig c;
  train::TrainOptions options;
  if (a.has("resume")) {
    options.run_dir = a.required("resume");
    options.resume = true;
    c = sae::readSaeRunConfig(options.run_dir);
    if (a.has("max-steps")) c.optimization.max_steps = a.intValue("max-steps", 0, kCount);
  } else {
    c = sae::SaeTrainConfig::defaults();
    c.model = a.required("model");
    c.dataset = a.required("dataset");
    c.dataset_path = a.value("dataset-path");
    options.run_dir = a.required("out");
    auto& s = c.settings;
    s.sae.hook_name = a.required("hook");
    s.sae.tokens = tokensOption(a.value("tokens", "all"));
    {
      auto m = io::loadModel(c.model);
      if (!m.model->has_hook(s.sae.hook_name)) throw UsageError("--hook: the model has no hook point '" + s.sae.hook_name + "'");
      s.sae.d_in = sae::hookWidth(*m.model, s.sae.hook_name, c.model);
    }
    const int expansion = a.intValue("expansion", 8, kCount);
    s.sae.d_sae = a.has("d-sae") ? a.intValue("d-sae", 0, kCount) : s.sae.d_in * expansion;
    const std::string activation = a.value("activation", "relu");
    if (activation != "relu" && activation != "topk") throw UsageError("--activation must be relu or topk");
    s.sae.activation = sae::activationFromName(activation);
    if (s.sae.activation == sae::Activation::TopK) {
      s.sae.k = a.intValue("k", 0, kCount);
      if (s.sae.k == 0 || s.sae.k > s.sae.d_sae) throw UsageError("--k: TopK needs 0 < k <= d_sae");
    }
    try {
      s.sae.normalization = sae::normalizationFromName(a.value("normalize", "layer_norm"));
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--normalize: ") + e.what());
    }
    s.sae.l1_coefficient = a.realValue("l1", s.sae.l1_coefficient, 0.0, 1e6);
    s.rows_per_step = a.intValue("rows-per-step", 0, kNonNegative);
    s.buffer_rows = a.intValue("buffer-rows", 0, kNonNegative);
    s.b_dec_init = a.value("b-dec-init", "geometric_median");
    if (s.b_dec_init != "geometric_median" && s.b_dec_init != "mean" && s.b_dec_init != "zeros")
      throw UsageError("--b-dec-init must be geometric_median, mean or zeros");
    s.dead_feature_window = a.intValue("dead-window", 1000, kCount);
    s.resample_every = a.intValue("resample-every", 0, kNonNegative);
    s.seed = uint64_t(a.intValue("seed", 0, kNonNegative));
    auto& o = c.optimization;
    o.lr = a.realValue("lr", o.lr, 0.0, 10.0);
    o.batch_size = a.intValue("batch", o.batch_size, kCount);
    o.max_steps = a.intValue("max-steps", 0, kNonNegative);
    o.epochs = a.intValue("epochs", o.max_steps > 0 ? 0 : 1, kNonNegative);
    o.schedule.warmup_steps = a.intValue("warmup", int(o.schedule.warmup_steps), kNonNegative);
    o.seed = o.data_seed = s.seed;
    c.logging.log_every = a.intValue("log-every", 100, kNonNegative);
    c.logging.eval_batches = a.intValue("eval-batches", 10, kNonNegative);
    c.logging.checkpoint_every = a.intValue("checkpoint-every", 0, kNonNegative);
  }
  // `--nproc N`: this process becomes the launcher of N workers running this command.
  Args worker_args{"train"};
  worker_args.insert(worker_args.end(), args.begin(), args.end());
  if (auto code = launchLocalWorkersIfRequested("sae", a, worker_args)) return *code;
  const DistributedArgs dist = DistributedArgs::from(a);
  if (dist.distributed() && c.optimization.batch_size < dist.world_size)
    throw UsageError("--batch " + std::to_string(c.optimization.batch_size) +
                     " is the global batch: it must be at least the world size " + std::to_string(dist.world_size));
  const std::unique_ptr<distributed::GlooCollective> group = dist.join();
  options.collective = group.get();
  options.threads = a.has("threads") ? a.intValue("threads", 0, kNonNegative) : dist.threads();
  if (dist.rank == 0) options.progress = progressLine;
  const sae::SaeTrainResult r = sae::trainSae(c, options);
  if (dist.rank != 0) return 0;
  const auto& f = r.loop.final;
  out << "prisma sae train: " << r.loop.state.step << " updates (" << r.loop.stop_reason << "), "
      << std::setprecision(4) << "test mse " << f.scalar("test_mse") << ", L0 " << f.scalar("test_l0")
      << ", explained variance " << f.scalar("test_explained_variance") << ", dead fraction "
      << f.scalar("test_dead_fraction") << "; " << std::setprecision(0) << std::fixed << r.rows_per_s
      << " activations/s; wrote " << options.run_dir << "\n";
  return 0;
}

int saeEvalCommand(const Args& args, std::ostream& out) {
  CliArgs a(args, saeDataOptionNames(), {});
  const sae::LoadedSae loaded = sae::loadSae(a.positional(0, "SAE"));
  SaeDataSetup setup = saeDataSetup(a, loaded, SaeClassCount::DatasetOrModel);
  auto& m = setup.model;
  const auto& dataset = setup.dataset;
  const std::string& split = setup.split;
  sae::SaeEvalOptions o;
  o.part = setup.part;
  o.limit = setup.limit;
  o.batch = setup.batch;
  const sae::SaeEvalResult r = sae::evaluateSae(*m.model, loaded.sae, *setup.data, o);
  out << "SAE " << loaded.source << " on " << loaded.sae->cfg().hook_name << " of " << m.source << ", "
      << dataset->name() << " " << split << ": " << r.images << " images, " << r.rows << " rows\n"
      << std::setprecision(4) << "  L0                  " << r.l0 << " of " << loaded.sae->cfg().d_sae << "\n"
      << "  MSE                 " << r.mse << " (ViT-Prisma's batch-normalised: " << r.mse_prisma << ")\n"
      << "  explained variance  " << r.explained_variance << "\n"
      << "  dead features       " << r.dead_fraction << "\n"
      << "  dense features      " << r.dense_fraction << " (firing on > 10 % of rows)\n"
      << "  accuracy            clean " << r.acc_clean << ", SAE spliced " << r.acc_sae << ", zero-ablated "
      << r.acc_zero << "\n"
      << "  cross-entropy       clean " << r.ce_clean << ", SAE spliced " << r.ce_sae << ", zero-ablated "
      << r.ce_zero << "\n"
      << "  loss recovered      " << r.loss_recovered << "\n";
  return 0;
}

}  // namespace prisma::cli
