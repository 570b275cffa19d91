// Splits, data order and batches. The order uses datasets::Rng (mt19937_64 with our own
// Fisher–Yates), whose output the C++ standard fixes, so a seed means the same batches on
// every machine and compiler.

#include "model/train/TrainingData.h"

#include "datasets/Batch.h"
#include "datasets/Random.h"
#include "datasets/Splits.h"
#include "model/Error.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <numeric>

namespace prisma::train {
namespace {

// Streams of TrainingData::mixSeed; epochs use kEpochStream + epoch.
constexpr uint64_t kEpochStream = 0;
constexpr uint64_t kEvalTrainStream = uint64_t(1) << 62;
constexpr uint64_t kEvalTestStream = kEvalTrainStream + 1;
// Items rendered per task when filling a cache in parallel.
constexpr int64_t kRenderChunk = 256;

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

std::string toString(Part part) { return part == Part::Train ? "train" : "test"; }

uint64_t TrainingData::mixSeed(uint64_t seed, uint64_t stream) {
  return splitmix64(splitmix64(seed) ^ splitmix64(~stream));
}

TrainingData::TrainingData(std::shared_ptr<const datasets::Dataset> dataset,
                           datasets::Preprocess preprocess, const TrainingDataOptions& options)
    : dataset_(std::move(dataset)), preprocess_(std::move(preprocess)), options_(options) {
  const std::string name = dataset_->name();
  const size_t nTrain = dataset_->size(datasets::Split::Train);
  const size_t nTest = dataset_->size(datasets::Split::Test);
  if (nTrain == 0) throw Error(name, "train", "the dataset has no training items");
  train_.split = datasets::Split::Train;
  if (nTest > 0) {
    train_.indices.resize(nTrain);
    std::iota(train_.indices.begin(), train_.indices.end(), size_t(0));
    test_.split = datasets::Split::Test;
    test_.indices.resize(nTest);
    std::iota(test_.indices.begin(), test_.indices.end(), size_t(0));
  } else {
    if (nTrain < 2) throw Error(name, "train", "too few items to hold some out for testing");
    datasets::Rng rng(options_.split_seed);
    auto split = datasets::randomSplit(nTrain, options_.test_fraction, rng);
    train_.indices = std::move(split.train);
    test_.split = datasets::Split::Train;
    test_.indices = std::move(split.test);
    heldOut_ = true;
  }
  cache(train_, name + " (train)");
  cache(test_, name + (heldOut_ ? " (held-out part of train)" : " (test)"));
}

size_t TrainingData::size(Part p) const { return part(p).indices.size(); }

int64_t TrainingData::stepsPerEpoch(int batch) const {
  const auto n = static_cast<int64_t>(train_.indices.size());
  return (n + batch - 1) / batch;
}

std::vector<int64_t> TrainingData::trainBatch(int64_t epoch, int64_t batchInEpoch, int batch) {
  const auto n = static_cast<int64_t>(train_.indices.size());
  if (permutationEpoch_ != epoch) {
    permutation_.resize(static_cast<size_t>(n));
    std::iota(permutation_.begin(), permutation_.end(), int64_t(0));
    datasets::Rng rng(mixSeed(options_.data_seed, kEpochStream + static_cast<uint64_t>(epoch)));
    rng.shuffle(permutation_);
    permutationEpoch_ = epoch;
  }
  const int64_t begin = std::min(n, batchInEpoch * batch);
  const int64_t end = std::min(n, begin + batch);
  return {permutation_.begin() + begin, permutation_.begin() + end};
}

std::vector<int64_t> TrainingData::evalSubset(Part p, size_t maxItems) const {
  std::vector<int64_t> order(size(p));
  std::iota(order.begin(), order.end(), int64_t(0));
  datasets::Rng rng(mixSeed(options_.data_seed, p == Part::Train ? kEvalTrainStream : kEvalTestStream));
  rng.shuffle(order);
  if (maxItems > 0 && order.size() > maxItems) order.resize(maxItems);
  return order;
}

void TrainingData::checkLabels(const std::vector<int64_t>& labels, const std::string& name) const {
  for (int64_t l : labels)
    if (l < 0 || l >= options_.n_classes)
      throw Error(name, "label",
                  l < 0 ? "an item has no label; training needs labelled items"
                        : "label " + std::to_string(l) + " is outside the model's " +
                              std::to_string(options_.n_classes) + " classes");
}

void TrainingData::cache(PartData& p, const std::string& name) {
  const auto& pre = preprocess_;
  const int64_t n = static_cast<int64_t>(p.indices.size());
  const int64_t perItem = int64_t(pre.channels) * pre.height * pre.width;
  if (static_cast<double>(n) * perItem * sizeof(float) > static_cast<double>(options_.cache_budget_bytes)) {
    // Too big to hold: labels only (cheap), images per batch.
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) labels[i] = dataset_->label(p.split, p.indices[i]);
    checkLabels(labels, name);
    return;
  }
  torch::Tensor inputs = torch::empty({n, pre.channels, pre.height, pre.width}, torch::kFloat32);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  float* dst = inputs.data_ptr<float>();
  at::parallel_for(0, (n + kRenderChunk - 1) / kRenderChunk, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t begin = c * kRenderChunk, end = std::min(n, begin + kRenderChunk);
      std::vector<size_t> idx(p.indices.begin() + begin, p.indices.begin() + end);
      const auto batch = datasets::makeBatch(*dataset_, p.split, idx, pre);
      std::memcpy(dst + begin * perItem, batch.inputs.data(), batch.inputs.size() * sizeof(float));
      std::copy(batch.labels.begin(), batch.labels.end(), labels.begin() + begin);
    }
  });
  checkLabels(labels, name);
  p.inputs = inputs;
  p.labels = torch::tensor(labels, torch::kInt64);
}

BatchTensors TrainingData::fetch(Part which, const std::vector<int64_t>& positions) const {
  const PartData& p = part(which);
  if (p.inputs.defined()) {
    torch::Tensor idx = torch::from_blob(const_cast<int64_t*>(positions.data()),
                                         {static_cast<int64_t>(positions.size())}, torch::kInt64);
    return {p.inputs.index_select(0, idx), p.labels.index_select(0, idx)};
  }
  std::vector<size_t> idx;
  idx.reserve(positions.size());
  for (int64_t pos : positions) idx.push_back(p.indices.at(static_cast<size_t>(pos)));
  auto batch = datasets::makeBatch(*dataset_, p.split, idx, preprocess_);
  checkLabels(batch.labels, dataset_->name());
  const int64_t n = batch.count;
  torch::Tensor inputs =
      torch::from_blob(batch.inputs.data(), {n, batch.channels, batch.height, batch.width}, torch::kFloat32).clone();
  torch::Tensor labels = torch::tensor(batch.labels, torch::kInt64);
  return {inputs, labels};
}

}  // namespace prisma::train
