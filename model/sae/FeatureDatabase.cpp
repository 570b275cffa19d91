// Building and storing a feature database; FeatureDatabase.h says what it holds.

#include "model/sae/FeatureDatabase.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/io/AtomicFile.h"
#include "model/io/SafeTensors.h"
#include "model/sae/SaeFiles.h"
#include "model/sae/SaeSplice.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

namespace prisma::sae {

namespace fs = std::filesystem;

namespace {
constexpr const char* kTensorsFile = "features.safetensors";
}  // namespace

FeatureDatabase buildFeatureDatabase(HookedViTImpl& model, const SparseAutoencoder& sae,
                                     const train::TrainingData& data, const FeatureDatabaseOptions& options) {
  torch::NoGradGuard no_grad;
  const SaeConfig& c = sae->cfg();
  const int64_t k = std::max<int64_t>(1, options.top_k), bins = std::max<int64_t>(1, options.histogram_bins);
  const std::vector<int64_t> positions = data.evalSubset(options.part, options.limit);
  FeatureDatabase db;
  db.class_names = data.dataset().classNames();
  const int64_t classes = std::max<int64_t>(1, int64_t(db.class_names.size()));
  db.histogram_edges = torch::logspace(std::log10(options.histogram_min), std::log10(options.histogram_max), bins + 1);
  db.histogram = torch::zeros({c.d_sae, bins}, torch::kInt64);
  db.class_counts = torch::zeros({c.d_sae, classes}, torch::kInt64);
  torch::Tensor fired = torch::zeros({c.d_sae}, torch::kFloat64), sum_when = torch::zeros({c.d_sae}, torch::kFloat64);
  const int64_t first_patch = model.cfg().n_prefix();
  const size_t batch = size_t(std::max(1, options.batch));
  for (size_t begin = 0; begin < positions.size(); begin += batch) {
    if (options.stop && options.stop->load()) {
      db.stopped = true;
      break;
    }
    const std::vector<int64_t> chunk(positions.begin() + begin, positions.begin() + std::min(positions.size(), begin + batch));
    const train::BatchTensors b = data.fetch(options.part, chunk);
    auto run = model.run_with_cache(b.inputs, filters::exact({c.hook_name}));
    torch::Tensor act = run.cache[c.hook_name];  // [B, T, ...]
    if (c.tokens == TokenSelection::Cls) act = act.narrow(1, 0, 1);
    if (c.tokens == TokenSelection::Patches) act = act.narrow(1, first_patch, act.size(1) - first_patch);
    const int64_t B = act.size(0), T = act.size(1);
    const torch::Tensor f = sae->encode(activationRows(act, c.d_in)).reshape({B, T, c.d_sae});  // [B, T, d_sae]
    if (!db.top_values.defined()) {
      db.top_values = torch::full({c.d_sae, k}, -std::numeric_limits<float>::infinity());
      db.top_images = torch::full({c.d_sae, k}, int64_t(-1), torch::kInt64);
      db.top_token_acts = torch::zeros({c.d_sae, k, T});
    }
    // Top-k: merge this batch's per-image maxima into the kept ones.
    const torch::Tensor per_image = std::get<0>(f.max(1)).t();         // [d_sae, B]
    const torch::Tensor tokens = f.permute({2, 0, 1});                  // [d_sae, B, T]
    const torch::Tensor ids = torch::tensor(chunk, torch::kInt64).unsqueeze(0).expand({c.d_sae, B});
    const torch::Tensor values = torch::cat({db.top_values, per_image}, 1);          // [d_sae, k + B]
    const torch::Tensor all_ids = torch::cat({db.top_images, ids}, 1);
    const torch::Tensor all_tokens = torch::cat({db.top_token_acts, tokens}, 1);     // [d_sae, k + B, T]
    auto [top, idx] = values.topk(k, 1);                                             // [d_sae, k]
    db.top_values = top.contiguous();
    db.top_images = all_ids.gather(1, idx).contiguous();
    db.top_token_acts = all_tokens.gather(1, idx.unsqueeze(2).expand({c.d_sae, k, T})).contiguous();
    // Density, histogram, classes.
    const torch::Tensor rows = f.reshape({B * T, c.d_sae});
    const torch::Tensor on = rows > 0;
    fired += on.sum(0).to(torch::kFloat64);
    sum_when += rows.sum(0).to(torch::kFloat64);
    const torch::Tensor bucket = torch::bucketize(rows, db.histogram_edges.to(rows.dtype()), /*out_int32=*/false, /*right=*/true) - 1;
    const torch::Tensor in_range = on & (bucket >= 0) & (bucket < bins);                 // [rows, d_sae]
    const torch::Tensor feature = torch::arange(c.d_sae).unsqueeze(0).expand_as(bucket);
    const torch::Tensor flat = (feature * bins + bucket.clamp(0, bins - 1)).masked_select(in_range);
    db.histogram.view(-1).index_add_(0, flat, torch::ones_like(flat));
    const torch::Tensor label = b.labels.clamp(0, classes - 1).unsqueeze(1).expand({B, T}).reshape({B * T, 1});
    const torch::Tensor cls_flat = (torch::arange(c.d_sae).unsqueeze(0) * classes + label).masked_select(on);
    db.class_counts.view(-1).index_add_(0, cls_flat, torch::ones_like(cls_flat));
    db.rows += B * T;
    db.images += B;
    if (options.progress) options.progress(size_t(db.images), positions.size());
  }
  const double rows = std::max<double>(1.0, double(db.rows));
  db.density = (fired / rows).to(torch::kFloat32);
  db.mean_when_firing = (sum_when / fired.clamp_min(1.0)).to(torch::kFloat32);
  return db;
}

void saveFeatureDatabase(const FeatureDatabase& db, const std::string& dir, const nlohmann::json& meta) {
  if (!db.top_values.defined()) throw Error(dir, "", "the feature database is empty (no image was read)");
  fs::create_directories(dir);
  io::writeSafeTensors((fs::path(dir) / kTensorsFile).string(),
                       {{"top_values", db.top_values},
                        {"top_images", db.top_images},
                        {"top_token_acts", db.top_token_acts},
                        {"density", db.density},
                        {"mean_when_firing", db.mean_when_firing},
                        {"histogram", db.histogram},
                        {"histogram_edges", db.histogram_edges},
                        {"class_counts", db.class_counts}});
  nlohmann::json j = meta;
  j["format"] = "prisma-sae-features";
  j["version"] = 1;
  j["images"] = db.images;
  j["rows"] = db.rows;
  j["class_names"] = db.class_names;
  j["complete"] = !db.stopped;
  io::writeTextAtomically((fs::path(dir) / kFeatureDatabaseJson).string(), j.dump(2) + "\n");
}

FeatureDatabase loadFeatureDatabase(const std::string& spec) {
  const std::string dir = resolveSaePath(spec);
  const std::string json_path = (fs::path(dir) / kFeatureDatabaseJson).string();
  const nlohmann::json j = readJsonFile(json_path);
  if (jsonOptional<std::string>(j, "format", "", json_path) != "prisma-sae-features")
    throw Error(json_path, "format", "is not a feature database");
  FeatureDatabase db;
  db.images = jsonRequired<int64_t>(j, "images", json_path);
  db.rows = jsonRequired<int64_t>(j, "rows", json_path);
  db.class_names = jsonOptional<std::vector<std::string>>(j, "class_names", {}, json_path);
  db.stopped = !jsonOptional<bool>(j, "complete", true, json_path);
  db.meta = j;
  db.meta_path = json_path;
  io::SafeTensorsFile f((fs::path(dir) / kTensorsFile).string());
  db.top_values = f.tensor("top_values").clone();
  db.top_images = f.tensor("top_images").clone();
  db.top_token_acts = f.tensor("top_token_acts").clone();
  db.density = f.tensor("density").clone();
  db.mean_when_firing = f.tensor("mean_when_firing").clone();
  db.histogram = f.tensor("histogram").clone();
  db.histogram_edges = f.tensor("histogram_edges").clone();
  db.class_counts = f.tensor("class_counts").clone();
  const int64_t d_sae = db.top_values.size(0);
  for (const auto& t : {db.top_images, db.density, db.histogram, db.class_counts})
    if (t.size(0) != d_sae) throw Error(dir, kTensorsFile, "tensors disagree on the feature count");
  return db;
}

}  // namespace prisma::sae
