#pragma once
// AdamW's per-parameter state (step, exp_avg, exp_avg_sq) by parameter name, so it can be
// saved as safetensors beside the weights and put back into a fresh optimizer: what an
// exact resume needs. LibTorch keys its state by TensorImpl address, which does not
// survive a process; names do. Tensors are "<param>.exp_avg", "<param>.exp_avg_sq" and
// "<param>.step" (int64 [1]).

#include <torch/optim/adamw.h>
#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace prisma::io {
class SafeTensorsFile;
}

namespace prisma::train {

using NamedParameters = std::vector<std::pair<std::string, torch::Tensor>>;

// Parameters the optimizer has not updated yet have no entries.
std::map<std::string, torch::Tensor> adamwStateTensors(const torch::optim::AdamW& optimizer,
                                                       const NamedParameters& params);

// Replaces the optimizer's state with the one in `file`. Throws prisma::Error naming the
// file and tensor when one is missing, misshapen, or left over from another model.
void loadAdamWState(torch::optim::AdamW& optimizer, const NamedParameters& params,
                    const io::SafeTensorsFile& file);

}  // namespace prisma::train
