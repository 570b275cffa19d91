#pragma once
// The data side of training: which items form the train and test parts (the dataset's
// own splits, or a seeded 80/20 split of its train split when it has no test split), the
// order of training data (one seeded permutation per epoch, so the position in the data
// is a function of the step alone and a resumed run sees the same batches), fixed
// evaluation subsets, and batches as tensors. Parts small enough are rendered once into
// one tensor; larger ones (dSprites, big images) are rendered batch by batch.

#include "datasets/Dataset.h"
#include "datasets/Preprocess.h"

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace prisma::train {

enum class Part { Train, Test };
std::string toString(Part part);  // "train" / "test"

struct TrainingDataOptions {
  uint64_t split_seed = 0;     // the 80/20 split when the dataset has no test split
  double test_fraction = 0.2;
  uint64_t data_seed = 0;      // per-epoch order and evaluation subsets
  int n_classes = 0;           // labels must lie in [0, n_classes)
  // Parts whose preprocessed tensor fits are rendered once up front.
  size_t cache_budget_bytes = size_t(768) << 20;
};

struct BatchTensors {
  torch::Tensor inputs;  // float [N, C, H, W]
  torch::Tensor labels;  // int64 [N]
};

class TrainingData {
public:
  // Throws prisma::Error when a part is empty or a label is out of range.
  TrainingData(std::shared_ptr<const datasets::Dataset> dataset, datasets::Preprocess preprocess,
               const TrainingDataOptions& options);

  size_t size(Part part) const;
  // True when the test part was carved out of the dataset's train split.
  bool testHeldOutOfTrain() const { return heldOut_; }
  const datasets::Dataset& dataset() const { return *dataset_; }
  const datasets::Preprocess& preprocess() const { return preprocess_; }

  // ceil(train size / batch): the last batch of an epoch may be smaller, as with a
  // PyTorch DataLoader without drop_last.
  int64_t stepsPerEpoch(int batch) const;

  // Positions (into the train part) of batch `batchInEpoch` of `epoch`.
  std::vector<int64_t> trainBatch(int64_t epoch, int64_t batchInEpoch, int batch);

  // The first `maxItems` (0 = all) of a fixed seeded permutation of the part: every
  // evaluation of a run looks at the same items.
  std::vector<int64_t> evalSubset(Part part, size_t maxItems) const;

  BatchTensors fetch(Part part, const std::vector<int64_t>& positions) const;

  // A seeded stream independent of every other use of the same seed.
  static uint64_t mixSeed(uint64_t seed, uint64_t stream);

private:
  struct PartData {
    datasets::Split split = datasets::Split::Train;
    std::vector<size_t> indices;  // dataset indices of this part, by position
    torch::Tensor inputs;         // cached [N, C, H, W], or undefined
    torch::Tensor labels;         // cached [N], or undefined
  };
  const PartData& part(Part p) const { return p == Part::Train ? train_ : test_; }
  void cache(PartData& part, const std::string& name);
  void checkLabels(const std::vector<int64_t>& labels, const std::string& name) const;

  std::shared_ptr<const datasets::Dataset> dataset_;
  datasets::Preprocess preprocess_;
  TrainingDataOptions options_;
  bool heldOut_ = false;
  PartData train_, test_;
  int64_t permutationEpoch_ = -1;
  std::vector<int64_t> permutation_;
};

}  // namespace prisma::train
