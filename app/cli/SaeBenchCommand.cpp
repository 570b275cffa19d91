// SAE benchmarks (figures for the README, not tests):
//
// `prisma bench sae-train`: training throughput in activations (rows) per second of our
// trainer (sae::trainSae: the generic training loop with SaeObjective, which streams the
// hook's rows from the frozen model through a shuffling buffer) against a plain LibTorch
// loop in the same process: the same SAE shapes and rows per update, Adam, clipping and
// unit decoder rows, over a fixed pool of the same hook's rows computed up front. The two
// alternate, repetition by repetition, and medians are printed (the machine is noisy).
// The model's forward pass that produces the rows is timed on its own, since the plain
// loop does not pay it. `--save-activations FILE.npy` writes the pool for
// bench/sae_train_pytorch.py, the same loop in Python PyTorch.
//
// `prisma bench feature-db`: the time and peak memory of building a feature database of
// N images (the dataset's train split, cycled when it has fewer). The peak is the
// process's resident high-water mark (VmHWM, reset before each build where the kernel
// allows it), beside getrusage's ru_maxrss (the whole process's peak).

#include "app/cli/ProcessMemory.h"
#include "app/cli/SaeCli.h"

#include "datasets/DatasetRegistry.h"
#include "model/Error.h"
#include "model/io/AtomicFile.h"
#include "model/runtime/Runtime.h"
#include "model/sae/FeatureDatabase.h"
#include "model/sae/SaeObjective.h"
#include "model/sae/SaeTraining.h"

#include <torch/torch.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace prisma::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultModel = "mouse:induction-2L";
constexpr const char* kDefaultDataset = "induction";
constexpr const char* kDefaultHook = "blocks.1.hook_resid_pre";
constexpr int kDefaultExpansion = 2;  // the shipped sae:induction-2L: d_sae 256
constexpr int kDefaultK = 16;
constexpr int kDefaultBatchImages = 32;
constexpr int kDefaultSteps = 300;
constexpr int kPlainWarmupSteps = 10;
// Images whose rows form the plain loop's pool: 16 updates' worth, the trainer's buffer.
constexpr int kPoolBatches = 16;
constexpr double kLr = 1e-3;
constexpr double kClip = 1.0;
constexpr double kL1 = 2e-5;
constexpr double kLayerNormEps = 1e-5;  // as SparseAutoencoder's layer_norm input
constexpr uint64_t kSeed = 0;
constexpr double kMiB = 1024.0 * 1024.0;

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string joined(const std::vector<double>& v) {
  std::string s;
  char buf[32];
  for (double x : v) {
    std::snprintf(buf, sizeof buf, "%.0f", x);
    s += (s.empty() ? "" : ", ") + std::string(buf);
  }
  return s;
}

// A float32 [rows, cols] array as NumPy's .npy (format 1.0), for the Python loop.
void writeNpy(const std::string& path, const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat32).contiguous();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(c.size(0)) + ", " +
                       std::to_string(c.size(1)) + "), }";
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += char(header.size() & 0xff);
  bytes += char(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(c.data_ptr<float>()), size_t(c.numel()) * sizeof(float));
  io::writeTextAtomically(path, bytes);
}

// The plain loop: the SAE as four bare tensors, Adam, clipping, unit decoder rows; rows
// drawn at random from `pool` [n, d_in]. Returns rows per second over `steps` updates.
double plainLoop(const torch::Tensor& pool, int64_t d_sae, bool topk, int64_t k, int64_t rows, int steps) {
  const int64_t d_in = pool.size(1);
  torch::manual_seed(kSeed);
  torch::Tensor W_enc = torch::randn({d_in, d_sae}).div_(std::sqrt(double(d_in))).requires_grad_();  // [d_in, d_sae]
  torch::Tensor b_enc = torch::zeros({d_sae}).requires_grad_();
  torch::Tensor W_dec = torch::randn({d_sae, d_in});
  W_dec = (W_dec / W_dec.norm(2, 1, true)).requires_grad_();  // [d_sae, d_in]
  torch::Tensor b_dec = torch::zeros({d_in}).requires_grad_();
  std::vector<torch::Tensor> params{W_enc, b_enc, W_dec, b_dec};
  torch::optim::Adam adam(params, torch::optim::AdamOptions(kLr));
  auto update = [&] {
    const torch::Tensor x = pool.index_select(0, torch::randint(pool.size(0), {rows}, torch::kInt64));  // [rows, d_in]
    const torch::Tensor mu = x.mean(-1, true), sd = (x - mu).std(-1, true, true);
    const torch::Tensor sae_in = (x - mu) / (sd + kLayerNormEps) - b_dec;
    const torch::Tensor pre = torch::addmm(b_enc, sae_in, W_enc);  // [rows, d_sae]
    torch::Tensor f;
    if (topk) {
      auto [v, i] = pre.topk(k, -1);
      f = torch::zeros_like(pre).scatter(-1, i, torch::relu(v));
    } else {
      f = torch::relu(pre);
    }
    const torch::Tensor out = torch::addmm(b_dec, f, W_dec) * sd + mu;  // [rows, d_in]
    const torch::Tensor norm = (x - x.mean(0, true)).norm(2, -1, true);
    torch::Tensor loss = ((out - x).pow(2) / norm).mean();
    if (!topk) loss = loss + kL1 * (f * W_dec.norm(2, 1)).sum(1).mean();
    adam.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(params, kClip);
    adam.step();
    torch::NoGradGuard no_grad;
    W_dec.div_(W_dec.norm(2, 1, true));
  };
  for (int i = 0; i < kPlainWarmupSteps; ++i) update();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) update();
  return double(steps) * double(rows) / secondsSince(t0);
}

// A dataset's train split cycled to `count` items (its test split unchanged): a feature
// database pass over more images than a small generated set holds.
class CycledDataset : public datasets::Dataset {
public:
  CycledDataset(std::shared_ptr<const datasets::Dataset> base, size_t count) : base_(std::move(base)), count_(count) {}
  std::string name() const override { return base_->name(); }
  size_t size(datasets::Split s) const override {
    return s == datasets::Split::Train ? count_ : base_->size(s);
  }
  std::vector<std::string> classNames() const override { return base_->classNames(); }
  datasets::ImageShape imageShape() const override { return base_->imageShape(); }
  datasets::Item item(datasets::Split s, size_t i) const override {
    datasets::checkIndex(*this, s, i);
    return base_->item(s, s == datasets::Split::Train ? i % base_->size(s) : i);
  }
  int label(datasets::Split s, size_t i) const override {
    datasets::checkIndex(*this, s, i);
    return base_->label(s, s == datasets::Split::Train ? i % base_->size(s) : i);
  }

private:
  std::shared_ptr<const datasets::Dataset> base_;
  size_t count_;
};

}  // namespace

int benchSaeTrainCommand(const Args& args, std::ostream& out) {
  CliArgs a(args,
            {"model", "dataset", "hook", "expansion", "activation", "k", "batch", "steps", "reps", "threads",
             "save-activations"},
            {"quick"});
  const std::string model_spec = a.value("model", kDefaultModel), hook = a.value("hook", kDefaultHook);
  const std::string activation = a.value("activation", "topk");
  if (activation != "relu" && activation != "topk") throw UsageError("--activation must be relu or topk");
  const bool topk = activation == "topk";
  const int batch = a.intValue("batch", kDefaultBatchImages, kCount);
  const int steps = a.intValue("steps", a.flag("quick") ? 50 : kDefaultSteps, kCount);
  const int reps = a.intValue("reps", a.flag("quick") ? 1 : 3, kCount);
  if (a.has("threads")) at::set_num_threads(a.intValue("threads", 1, kCount));
  else runtime::configureThreads();
  const int threads = at::get_num_threads();

  // The pool of rows: the hook over the first kPoolBatches batches of the train split.
  auto m = io::loadModel(model_spec);
  if (!m.model->has_hook(hook)) throw UsageError("--hook: the model has no hook point '" + hook + "'");
  datasets::DatasetOptions dopt;
  std::shared_ptr<const datasets::Dataset> dataset = datasets::makeDataset(a.value("dataset", kDefaultDataset), dopt);
  train::TrainingDataOptions topt;
  topt.split_seed = dopt.seed;
  topt.n_classes = std::max<int>(1, int(dataset->classNames().size()));
  train::TrainingData data(dataset, m.preprocess, topt);
  sae::SaeTrainSettings settings;
  settings.sae.hook_name = hook;
  settings.sae.normalization = sae::Normalization::LayerNorm;
  {
    torch::NoGradGuard no_grad;
    const auto& cfg = m.model->cfg();
    auto run = m.model->run_with_cache(torch::zeros({1, cfg.n_channels, cfg.image_size, cfg.image_size}),
                                       filters::exact({hook}));
    const torch::Tensor act = run.cache[hook];
    settings.sae.d_in = act.dim() == 4 ? act.size(-1) * act.size(-2) : act.size(-1);
  }
  settings.sae.d_sae = settings.sae.d_in * a.intValue("expansion", kDefaultExpansion, kCount);
  settings.sae.activation = topk ? sae::Activation::TopK : sae::Activation::Relu;
  settings.sae.k = topk ? a.intValue("k", kDefaultK, kCount) : 0;
  settings.sae.l1_coefficient = kL1;
  sae::SparseAutoencoder probe(settings.sae);
  sae::SaeObjective rows_of(m.model, probe, settings);
  const auto positions = data.evalSubset(train::Part::Train, size_t(kPoolBatches) * size_t(batch));
  const torch::Tensor images = data.fetch(train::Part::Train, positions).inputs;  // [pool images, C, H, W]
  const torch::Tensor pool = rows_of.activationRows(images);                      // [pool rows, d_in]
  const int64_t rows_per_step = pool.size(0) / int64_t(positions.size()) * batch;
  if (a.has("save-activations")) writeNpy(a.value("save-activations"), pool);

  // The model's share: one update's images through the model to the hook.
  const torch::Tensor one_batch = images.narrow(0, 0, std::min<int64_t>(batch, images.size(0)));
  std::vector<double> forward_rates;
  for (int r = 0; r < std::max(3, reps); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const torch::Tensor rows = rows_of.activationRows(one_batch);
    forward_rates.push_back(double(rows.size(0)) / secondsSince(t0));
  }

  sae::SaeTrainConfig c = sae::SaeTrainConfig::defaults();
  c.model = model_spec;
  c.dataset = a.value("dataset", kDefaultDataset);
  c.settings = settings;
  c.optimization.lr = kLr;
  c.optimization.batch_size = batch;
  c.optimization.max_steps = steps;
  c.optimization.epochs = 0;
  c.optimization.schedule.warmup_steps = 0;
  c.logging.log_every = 0;
  c.logging.eval_batches = 0;
  c.logging.checkpoint_every = 0;
  const fs::path scratch = fs::temp_directory_path() / ("prisma-bench-sae-" + std::to_string(::getpid()));
  std::vector<double> trainer, plain;
  for (int r = 0; r < reps; ++r) {
    train::TrainOptions o;
    o.run_dir = (scratch / ("rep" + std::to_string(r))).string();
    o.threads = threads;
    trainer.push_back(sae::trainSae(c, o).rows_per_s);
    std::error_code ec;
    fs::remove_all(o.run_dir, ec);
    plain.push_back(plainLoop(pool, settings.sae.d_sae, topk, settings.sae.k, rows_per_step, steps));
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);

  const auto blas = runtime::blasInfo();
  char line[320];
  std::snprintf(line, sizeof line,
                "prisma bench sae-train: %s %s, d_in %lld, d_sae %lld, %s%s, %lld rows per update (%d images), "
                "%d updates x %d reps, %d threads, %s, %s\n",
                model_spec.c_str(), hook.c_str(), static_cast<long long>(settings.sae.d_in),
                static_cast<long long>(settings.sae.d_sae), activation.c_str(),
                topk ? (" k " + std::to_string(settings.sae.k)).c_str() : "", static_cast<long long>(rows_per_step),
                batch, steps, reps, threads, blas.vendor.c_str(), runtime::cpuModel().c_str());
  out << line;
  std::snprintf(line, sizeof line, "%-52s %14s  %s\n", "loop", "activations/s", "reps");
  out << line;
  const double t = median(trainer), p = median(plain), f = median(forward_rates);
  std::snprintf(line, sizeof line, "%-52s %14.0f  [%s]\n", "prisma trainer (model -> buffer -> SAE update)", t,
                joined(trainer).c_str());
  out << line;
  std::snprintf(line, sizeof line, "%-52s %14.0f  [%s]\n", "plain LibTorch loop (pool of rows -> SAE update)", p,
                joined(plain).c_str());
  out << line;
  std::snprintf(line, sizeof line, "%-52s %14.0f  [%s]\n", "model forward to the hook alone (rows produced)", f,
                joined(forward_rates).c_str());
  out << line;
  // What the trainer spends per row besides the forward pass, against the plain loop.
  const double sae_only = t > 0 && f > t ? 1.0 / (1.0 / t - 1.0 / f) : 0.0;
  std::snprintf(line, sizeof line, "%-52s %14.0f  (%.2fx the plain loop)\n",
                "prisma trainer without the forward pass (derived)", sae_only, p > 0 ? sae_only / p : 0.0);
  out << line;
  return 0;
}

int benchFeatureDbCommand(const Args& args, std::ostream& out) {
  std::vector<std::string> valued = saeDataOptionNames();
  valued.insert(valued.end(), {"images", "top-k", "threads"});
  CliArgs a(args, valued, {});
  const std::string sae_spec = !a.positionals().empty() ? a.positional(0, "SAE") : "sae:induction-2L";
  if (a.has("threads")) at::set_num_threads(a.intValue("threads", 1, kCount));
  else runtime::configureThreads();
  const sae::LoadedSae loaded = sae::loadSae(sae_spec);
  const std::string model_spec = a.has("model") ? a.required("model") : loaded.sae->cfg().model_name;
  if (model_spec.empty()) throw UsageError("--model is needed: the SAE does not name its model");
  auto m = io::loadModel(model_spec);
  datasets::DatasetOptions dopt;
  dopt.path = a.value("dataset-path");
  std::shared_ptr<const datasets::Dataset> base = datasets::makeDataset(a.value("dataset", kDefaultDataset), dopt);
  const std::vector<int> counts = {1000, a.intValue("images", 10000, kCount)};
  char line[320];
  std::snprintf(line, sizeof line,
                "prisma bench feature-db: %s on %s of %s, %s train split (%zu images, cycled as needed), %d threads\n",
                sae_spec.c_str(), loaded.sae->cfg().hook_name.c_str(), model_spec.c_str(), base->name().c_str(),
                base->size(datasets::Split::Train), at::get_num_threads());
  out << line;
  std::snprintf(line, sizeof line, "%8s %8s %9s %9s %12s %14s %12s %12s\n", "images", "rows", "seconds", "images/s",
                "top-k MiB", "peak +MiB", "VmHWM MiB", "ru_maxrss");
  out << line;
  for (int count : counts) {
    auto dataset = std::make_shared<CycledDataset>(base, size_t(count));
    train::TrainingDataOptions topt;
    topt.split_seed = dopt.seed;
    topt.n_classes = std::max<int>(1, int(base->classNames().size()));
    topt.cache_budget_bytes = 0;  // rendered batch by batch: the pass's own memory
    train::TrainingData data(dataset, m.preprocess, topt);
    sae::FeatureDatabaseOptions o;
    o.part = train::Part::Train;
    o.batch = a.intValue("batch", 64, kCount);
    o.top_k = a.intValue("top-k", 16, kCount);
    const bool reset = resetPeakRss();
    const long before = statusKb(reset ? "VmRSS" : "VmHWM");
    const auto t0 = std::chrono::steady_clock::now();
    const sae::FeatureDatabase db = sae::buildFeatureDatabase(*m.model, loaded.sae, data, o);
    const double seconds = secondsSince(t0);
    const long peak = statusKb("VmHWM");
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const double topk_mib =
        double(db.top_values.nbytes() + db.top_images.nbytes() + db.top_token_acts.nbytes()) / kMiB;
    std::snprintf(line, sizeof line, "%8lld %8lld %9.2f %9.0f %12.2f %14.1f %12.1f %12.1f\n",
                  static_cast<long long>(db.images), static_cast<long long>(db.rows), seconds,
                  double(db.images) / seconds, topk_mib, (peak - before) / 1024.0, peak / 1024.0,
                  usage.ru_maxrss / 1024.0);
    out << line;
  }
  out << "peak +MiB: resident high-water mark during the build minus resident memory before it"
      << (resetPeakRss() ? "" : " [VmHWM not resettable here: peak since start]") << "; ru_maxrss: the process's peak\n";
  return 0;
}

}  // namespace prisma::cli
