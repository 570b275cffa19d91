#pragma once
// A feature database: one pass of an SAE over a dataset split that keeps, per feature, what
// a person browsing features wants to see (the "feature dashboards" of Anthropic and
// SAELens' neuronpedia, for images):
// - its top-k images by their largest activation over tokens, with the activation at every
//   token (a heatmap over the image's patches);
// - its firing density (fraction of rows where it is > 0) and mean activation when firing;
// - a histogram of its positive activations over log10-spaced bins;
// - how often it fires on each class (summed over the images' tokens).
// Memory is bounded by the top-k tensors [d_sae, k, tokens] and one batch, whatever the
// dataset's size; the pass checks a stop token and reports progress between batches. The
// database is written as features.safetensors + features.json.

#include "model/sae/SparseAutoencoder.h"
#include "model/train/TrainingData.h"
#include "model/vit/HookedViT.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace prisma::sae {

// The database's JSON file in its folder (beside features.safetensors): what finds a
// database in a folder.
inline constexpr const char* kFeatureDatabaseJson = "features.json";

struct FeatureDatabaseOptions {
  train::Part part = train::Part::Test;
  size_t limit = 0;  // images, 0 = the whole part
  int batch = 64;
  int64_t top_k = 16;
  int64_t histogram_bins = 32;
  double histogram_min = 1e-4, histogram_max = 1e3;  // log10-spaced bin edges
  std::function<void(size_t done, size_t total)> progress;
  const std::atomic<bool>* stop = nullptr;
};

struct FeatureDatabase {
  torch::Tensor top_values;       // [d_sae, k] largest per-image activation, descending (−inf: unused)
  torch::Tensor top_images;       // [d_sae, k] int64 position of that image in the part (−1: unused)
  torch::Tensor top_token_acts;   // [d_sae, k, tokens] the feature at every token of that image
  torch::Tensor density;          // [d_sae] fraction of rows where the feature fires
  torch::Tensor mean_when_firing; // [d_sae]
  torch::Tensor histogram;        // [d_sae, bins] counts of positive activations
  torch::Tensor histogram_edges;  // [bins + 1]
  torch::Tensor class_counts;     // [d_sae, classes] firing rows per class
  std::vector<std::string> class_names;
  int64_t images = 0, rows = 0;
  bool stopped = false;
  // As loaded: the whole JSON (saveFeatureDatabase's `meta` -- sae, model, hook, dataset,
  // split, seed, dataset_path -- and the counts) and its path, for errors naming a field.
  nlohmann::json meta;
  std::string meta_path;
};

FeatureDatabase buildFeatureDatabase(HookedViTImpl& model, const SparseAutoencoder& sae,
                                     const train::TrainingData& data, const FeatureDatabaseOptions& options = {});

// Writes `dir`/features.safetensors and `dir`/features.json (`meta` is added to the JSON).
void saveFeatureDatabase(const FeatureDatabase& db, const std::string& dir, const nlohmann::json& meta);
// `spec`: the database's folder, or `sae:NAME` (a bundled SAE's folder holds its database).
FeatureDatabase loadFeatureDatabase(const std::string& spec);

}  // namespace prisma::sae
