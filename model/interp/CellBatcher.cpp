#include "model/interp/CellBatcher.h"

#include "model/Error.h"

#include <torch/torch.h>

#include <limits>
#include <map>

namespace prisma::interp {

namespace {

int64_t offsetOf(const std::vector<int64_t>& shape, const CellIndex& cell) {
  int64_t o = 0;
  for (size_t d = 0; d < shape.size(); ++d) o = o * shape[d] + cell[d];
  return o;
}

}  // namespace

PatchResult sweepCells(const std::string& what, const std::vector<int64_t>& shape,
                       const std::vector<CellIndex>& cells, int max_batch, const PatchOptions& options,
                       const BatchRunner& run) {
  PatchResult result;
  result.values = torch::full(shape, std::numeric_limits<float>::quiet_NaN());
  torch::Tensor flat = result.values.view({-1});
  const int64_t total = static_cast<int64_t>(cells.size());
  max_batch = std::max(1, max_batch);

  std::map<int64_t, std::vector<CellIndex>> by_layer;  // ordered: shallow layers first
  for (const auto& c : cells) by_layer[c.at(0)].push_back(c);

  for (const auto& [layer, layer_cells] : by_layer) {
    const int64_t n = static_cast<int64_t>(layer_cells.size());
    const int64_t n_batches = (n + max_batch - 1) / max_batch;
    const int64_t per_batch = (n + n_batches - 1) / n_batches;
    for (int64_t begin = 0; begin < n; begin += per_batch) {
      if (options.stop && options.stop->load()) {
        result.stopped = true;
        return result;
      }
      const int64_t end = std::min(n, begin + per_batch);
      const std::vector<CellIndex> batch(layer_cells.begin() + begin, layer_cells.begin() + end);
      const torch::Tensor values = run(layer, batch).detach().to(torch::kFloat32).reshape({-1});  // [B]
      if (values.size(0) != end - begin)
        throw Error("metric", what, "must return one value per batch row");

      std::vector<int64_t> offsets;
      offsets.reserve(batch.size());
      for (const auto& c : batch) offsets.push_back(offsetOf(shape, c));
      flat.index_put_({torch::tensor(offsets, torch::kLong)}, values);
      result.cells_done += end - begin;
      if (options.on_progress) {
        PatchProgress p;
        p.done = result.cells_done;
        p.total = total;
        p.cells = &batch;
        p.values = values;
        p.grid = &result.values;
        options.on_progress(p);
      }
    }
  }
  return result;
}

}  // namespace prisma::interp
