// The SAE training objective; SaeObjective.h explains the recipe and where it differs
// from ViT-Prisma's.

#include "model/sae/SaeObjective.h"

#include "model/Error.h"
#include "model/sae/SaeFiles.h"
#include "model/sae/SaeSplice.h"
#include "model/io/SafeTensors.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

namespace prisma::sae {

namespace {

constexpr const char* kStateFile = "sae_state.safetensors";
// Weiszfeld's iteration: distances are floored at this to avoid dividing by zero at a
// data point, and it stops when the summed distance improves by less than this fraction.
constexpr double kWeiszfeldEps = 1e-8;
constexpr double kWeiszfeldTolerance = 1e-20;
// Buffer of this many updates' rows when none is given (ViT-Prisma: n_batches_in_buffer).
constexpr int64_t kDefaultBufferUpdates = 16;
// Resampled encoder columns get this fraction of the mean alive encoder norm (Anthropic).
constexpr double kResampleEncoderScale = 0.2;

// ViT-Prisma's initialize_weights: Kaiming-uniform with a = √5 on [out, in] (bound
// 1/√in), then each row scaled to unit norm.
torch::Tensor unitRows(int64_t out, int64_t in, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  torch::Tensor w = torch::empty({out, in}).uniform_(-bound, bound, gen);
  return w / w.norm(2, 1, /*keepdim=*/true);
}

}  // namespace

nlohmann::json SaeTrainSettings::toJson() const {
  nlohmann::json j = saeConfigJson(sae);
  j["rows_per_step"] = rows_per_step;
  j["buffer_rows"] = buffer_rows;
  j["b_dec_init"] = b_dec_init;
  j["dead_feature_window"] = dead_feature_window;
  j["resample_every"] = resample_every;
  j["seed"] = seed;
  return j;
}

torch::Tensor geometricMedian(const torch::Tensor& points, int max_iterations) {
  const torch::Tensor x = points.to(torch::kFloat64);  // [n, d]
  torch::Tensor median = x.mean(0);
  double previous = (x - median).norm(2, 1).sum().item<double>();
  for (int i = 0; i < max_iterations; ++i) {
    const torch::Tensor w = 1.0 / (x - median).norm(2, 1).clamp_min(kWeiszfeldEps);  // [n]
    median = (w.unsqueeze(1) * x).sum(0) / w.sum();
    const double objective = (x - median).norm(2, 1).sum().item<double>();
    if (std::abs(previous - objective) <= kWeiszfeldTolerance * objective) break;
    previous = objective;
  }
  return median.to(points.scalar_type());
}

void initializeSae(SparseAutoencoderImpl& sae, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto& c = sae.cfg();
  torch::NoGradGuard no_grad;
  sae.W_dec.copy_(unitRows(c.d_sae, c.d_in, gen));  // [d_sae, d_in]
  sae.W_enc.copy_(unitRows(c.d_in, c.d_sae, gen));  // [d_in, d_sae]
  sae.b_enc.zero_();
  sae.b_dec.zero_();
}

SaeObjective::SaeObjective(HookedViT model, SparseAutoencoder sae, SaeTrainSettings settings)
    : model_(std::move(model)),
      sae_(std::move(sae)),
      settings_(std::move(settings)),
      generator_(at::make_generator<at::CPUGeneratorImpl>(settings_.seed ^ 0x5ae5ae5aULL)) {
  for (auto& p : model_->parameters()) p.set_requires_grad(false);
  model_->eval();
  for (const auto& p : sae_->named_parameters()) trained_.emplace_back(p.key(), p.value());
  since_fired_ = torch::zeros({sae_->cfg().d_sae}, torch::kInt64);
  // Only the gradient component orthogonal to each (unit) decoder row is kept, so an
  // update cannot change the row's norm to first order (ViT-Prisma's
  // remove_gradient_parallel_to_decoder_directions).
  std::weak_ptr<SparseAutoencoderImpl> weak = sae_.ptr();
  sae_->W_dec.register_hook([weak](const torch::Tensor& grad) -> torch::Tensor {
    auto s = weak.lock();
    if (!s) return grad;
    const torch::Tensor w = s->W_dec.detach();                 // [d_sae, d_in]
    return grad - (grad * w).sum(1, /*keepdim=*/true) * w;     // [d_sae, d_in]
  });
}

torch::Tensor SaeObjective::activationRows(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const std::string& hook = settings_.sae.hook_name;
  const int layers = model_->cfg().n_layers;
  // Stop after the hook's block when the hook is inside one: the rest is not needed.
  RunOptions options;
  if (hook.rfind("blocks.", 0) == 0) {
    const int layer = std::stoi(hook.substr(7));
    if (layer + 1 < layers) options.stop_at_layer = layer + 1;
  }
  auto run = model_->run_with_cache(images, filters::exact({hook}), options);
  torch::Tensor act = run.cache[hook];  // [batch, tokens, ...]
  const int64_t first_patch = model_->cfg().n_prefix();
  switch (settings_.sae.tokens) {
    case TokenSelection::All: break;
    case TokenSelection::Cls: act = act.narrow(1, 0, 1); break;
    case TokenSelection::Patches: act = act.narrow(1, first_patch, act.size(1) - first_patch); break;
  }
  return sae::activationRows(act, settings_.sae.d_in).contiguous();  // [rows, d_in]
}

void SaeObjective::push(const torch::Tensor& rows) {
  torch::NoGradGuard no_grad;
  const int64_t capacity = buffer_.size(0);
  int64_t start = 0;
  if (filled_ < capacity) {
    const int64_t n = std::min(capacity - filled_, rows.size(0));
    buffer_.narrow(0, filled_, n).copy_(rows.narrow(0, 0, n));
    filled_ += n;
    start = n;
  }
  if (start < rows.size(0)) {
    // Full: new rows replace rows at random places, so old rows leave in random order.
    const torch::Tensor slots = torch::randint(capacity, {rows.size(0) - start}, generator_, torch::kInt64);
    buffer_.index_copy_(0, slots, rows.narrow(0, start, rows.size(0) - start));
  }
}

torch::Tensor SaeObjective::draw(int64_t n) {
  const torch::Tensor idx = torch::randint(filled_, {n}, generator_, torch::kInt64);
  return buffer_.index_select(0, idx);  // [n, d_in]
}

void SaeObjective::prime(const torch::Tensor& images, int64_t images_per_step, bool resumed) {
  primeRows(activationRows(images), images.size(0), images_per_step, resumed);
}

void SaeObjective::setCollective(train::Collective* collective) {
  collective_ = collective && collective->worldSize() > 1 ? collective : nullptr;
}

torch::Tensor SaeObjective::gatherRows(const torch::Tensor& rows, double& share) {
  share = 1.0;
  if (!collective_) return rows;
  torch::NoGradGuard no_grad;
  const int world = collective_->worldSize(), rank = collective_->rank();
  // Slices differ by an image at most, so the row counts are exchanged first.
  std::vector<torch::Tensor> counts{torch::zeros({world}, torch::kInt64)};
  counts[0][rank] = rows.size(0);
  collective_->allReduceSum(counts);
  const std::vector<int64_t> n(counts[0].data_ptr<int64_t>(), counts[0].data_ptr<int64_t>() + world);
  int64_t offset = 0, total = 0;
  for (int r = 0; r < world; ++r) {
    if (r < rank) offset += n[size_t(r)];
    total += n[size_t(r)];
  }
  // A sum of zero-padded copies is an all-gather: each rank fills its own rows.
  std::vector<torch::Tensor> all{torch::zeros({total, rows.size(1)}, rows.options())};  // [total, d_in]
  all[0].narrow(0, offset, rows.size(0)).copy_(rows);
  collective_->allReduceSum(all);
  share = total > 0 ? double(rows.size(0)) / double(total) : 0.0;
  return all[0];
}

void SaeObjective::primeRows(const torch::Tensor& rows, int64_t images, int64_t images_per_step, bool resumed) {
  const int64_t per_image = rows.size(0) / std::max<int64_t>(1, images);
  const int64_t per_step = settings_.rows_per_step > 0 ? settings_.rows_per_step : per_image * images_per_step;
  settings_.rows_per_step = per_step;
  if (settings_.buffer_rows <= 0) settings_.buffer_rows = std::max<int64_t>(kDefaultBufferUpdates * per_step, rows.size(0));
  buffer_ = torch::zeros({settings_.buffer_rows, settings_.sae.d_in});
  filled_ = 0;
  push(rows);
  if (resumed) return;
  torch::NoGradGuard no_grad;
  RowStats stats;
  const torch::Tensor normalized = sae_->normalize(buffer_.narrow(0, 0, filled_), stats);  // [filled, d_in]
  if (settings_.b_dec_init == "geometric_median") sae_->b_dec.copy_(geometricMedian(normalized));
  else if (settings_.b_dec_init == "mean") sae_->b_dec.copy_(normalized.mean(0));
}

void SaeObjective::restoreState(const std::string& checkpointDir) {
  const std::string path = (std::filesystem::path(checkpointDir) / kStateFile).string();
  if (!std::filesystem::exists(path)) return;
  io::SafeTensorsFile f(path);
  const torch::Tensor since = f.tensor("since_fired");
  if (since.sizes() != since_fired_.sizes()) throw Error(path, "since_fired", "does not match the SAE's d_sae");
  since_fired_.copy_(since.to(torch::kInt64));
  step_ = f.tensor("step").to(torch::kInt64).item<int64_t>();
}

std::vector<torch::Tensor> SaeObjective::replicatedState() const {
  std::vector<torch::Tensor> state;
  for (const auto& p : sae_->parameters()) state.push_back(p);
  return state;
}

void SaeObjective::resampleDead() {
  torch::NoGradGuard no_grad;
  const torch::Tensor dead = (since_fired_ > settings_.dead_feature_window).nonzero().flatten();  // [n_dead]
  if (dead.numel() == 0) return;
  // Rows the SAE reconstructs worst are the likeliest new directions (probability ∝ loss²).
  const torch::Tensor x = draw(std::min<int64_t>(filled_, std::max<int64_t>(settings_.rows_per_step, dead.numel())));
  const SaeForward f = sae_->run(x);
  RowStats stats;
  const torch::Tensor target = sae_->normalize(x, stats) - (settings_.sae.subtract_b_dec ? sae_->b_dec : torch::zeros_like(sae_->b_dec));
  const torch::Tensor loss = (f.sae_out - x).pow(2).sum(1);  // [rows]
  const torch::Tensor picks = torch::multinomial(loss.pow(2) + 1e-12, dead.numel(), /*replacement=*/true, generator_);
  torch::Tensor directions = target.index_select(0, picks);  // [n_dead, d_in]
  directions = directions / directions.norm(2, 1, true).clamp_min(kWeiszfeldEps);
  const torch::Tensor alive = (since_fired_ <= settings_.dead_feature_window);
  const double enc_norm = alive.any().item<bool>()
                              ? sae_->W_enc.index_select(1, alive.nonzero().flatten()).norm(2, 0).mean().item<double>()
                              : 1.0;
  sae_->W_dec.index_copy_(0, dead, directions);
  sae_->W_enc.index_copy_(1, dead, (directions * (kResampleEncoderScale * enc_norm)).t());
  sae_->b_enc.index_fill_(0, dead, 0.0);
  since_fired_.index_fill_(0, dead, 0);
}

train::Objective::Step SaeObjective::step(const train::BatchTensors& batch) {
  double image_share = 1.0;  // this rank's share of the batch, as the loop weighs it
  const torch::Tensor rows = gatherRows(activationRows(batch.inputs), image_share);  // [batch rows, d_in]
  if (!buffer_.defined()) primeRows(rows, batch.inputs.size(0), batch.inputs.size(0), /*resumed=*/true);
  else push(rows);
  sae_->normalizeDecoderRows();
  if (settings_.resample_every > 0 && step_ > 0 && step_ % settings_.resample_every == 0) resampleDead();
  torch::Tensor x = draw(settings_.rows_per_step);  // [rows, d_in], the same on every rank
  const torch::Tensor batch_mean = x.mean(0, /*keepdim=*/true);  // [1, d_in]
  // This rank's contiguous share of the drawn rows; the loop multiplies the returned loss
  // by image_share, so it is rescaled to weigh the slice by its share of the rows instead.
  double weight = 1.0;
  if (collective_) {
    const int64_t n = x.size(0), world = collective_->worldSize(), rank = collective_->rank();
    const int64_t begin = n * rank / world, end = n * (rank + 1) / world;
    x = x.narrow(0, begin, end - begin);
    weight = image_share > 0 ? (double(end - begin) / double(n)) / image_share : 0.0;
  }
  const SaeForward f = sae_->run(x);
  const SaeLosses prisma = prismaLosses(*sae_, x, f, batch_mean);
  const torch::Tensor dec_norms = sae_->W_dec.norm(2, 1);  // [d_sae]
  const torch::Tensor l1 = settings_.sae.activation == Activation::TopK
                               ? torch::zeros({})
                               : settings_.sae.l1_coefficient * (f.feature_acts * dec_norms).sum(1).mean();
  const torch::Tensor loss = (prisma.mse + l1) * weight;
  double l0 = 0;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor active = f.feature_acts > 0;  // [rows, d_sae]
    l0 = active.sum(1).to(torch::kFloat64).mean().item<double>() * weight;
    torch::Tensor fired = active.any(0);  // [d_sae]
    if (collective_) {
      std::vector<torch::Tensor> counts{fired.to(torch::kFloat32)};
      collective_->allReduceSum(counts);
      fired = counts[0] > 0;
    }
    since_fired_ += 1;
    since_fired_.masked_fill_(fired, 0);
  }
  ++step_;
  // The same on every rank, so it is not weighted: the loop's weighted sum returns it.
  const double dead = (since_fired_ > settings_.dead_feature_window).to(torch::kFloat64).mean().item<double>();
  return {loss, {prisma.mse.item<double>() * weight, l1.item<double>() * weight, l0, dead}};
}

// Sums: rows, Σ squared error, Σ batch-normalised MSE · rows, Σ L1 penalty, Σ L0,
// Σ x², then Σ x per input dimension and firing counts per feature.
size_t SaeObjective::evaluationSumCount() const {
  return 6 + static_cast<size_t>(sae_->cfg().d_in + sae_->cfg().d_sae);
}

std::vector<double> SaeObjective::evaluationSums(const train::BatchTensors& batch) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = activationRows(batch.inputs);  // [rows, d_in]
  const SaeForward f = sae_->run(x);
  const SaeLosses l = prismaLosses(*sae_, x, f);
  const double rows = double(x.size(0));
  const torch::Tensor x64 = x.to(torch::kFloat64);
  const torch::Tensor active = f.feature_acts > 0;
  std::vector<double> s = {rows,
                           (f.sae_out - x).to(torch::kFloat64).pow(2).sum().item<double>(),
                           l.mse.item<double>() * rows,
                           settings_.sae.l1_coefficient * (f.feature_acts * sae_->W_dec.norm(2, 1)).sum().item<double>(),
                           active.sum().item<double>(),
                           x64.pow(2).sum().item<double>()};
  const torch::Tensor per_dim = x64.sum(0).contiguous();
  const torch::Tensor fired = active.sum(0).to(torch::kFloat64).contiguous();
  s.insert(s.end(), per_dim.data_ptr<double>(), per_dim.data_ptr<double>() + per_dim.numel());
  s.insert(s.end(), fired.data_ptr<double>(), fired.data_ptr<double>() + fired.numel());
  return s;
}

std::vector<double> SaeObjective::evaluationScalars(const std::vector<double>& sums, int64_t items) const {
  const double rows = sums.empty() ? 0 : sums[0];
  if (items <= 0 || rows <= 0) return std::vector<double>(evaluationScalarNames().size(), train::LogRow::kMissing);
  const int64_t d_in = sae_->cfg().d_in, d_sae = sae_->cfg().d_sae;
  double mean_sq = 0;  // ‖Σx‖² / rows, over dimensions
  for (int64_t i = 0; i < d_in; ++i) mean_sq += sums[6 + i] * sums[6 + i];
  const double total_variance = sums[5] - mean_sq / rows;
  double dead = 0, dense = 0;
  for (int64_t j = 0; j < d_sae; ++j) {
    const double count = sums[6 + d_in + j];
    dead += count == 0;
    dense += count > kDenseDensity * rows;
  }
  return {sums[2] / rows, sums[3] / rows, sums[4] / rows, 1.0 - sums[1] / total_variance,
          dead / double(d_sae), dense / double(d_sae)};
}

void SaeObjective::saveModel(const std::string& dir, const std::string& name) const {
  nlohmann::json training = settings_.toJson();
  training["name"] = name;
  training["steps"] = step_;
  saveSae(*sae_, dir, training);
  io::writeSafeTensors((std::filesystem::path(dir) / kStateFile).string(),
                       {{"since_fired", since_fired_.contiguous()}, {"step", torch::tensor({step_})}});
}

}  // namespace prisma::sae
