#include "model/train/ModelSetup.h"

#include "model/Error.h"
#include "model/io/ModelLoader.h"
#include "model/vit/Initialization.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>

namespace prisma::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHeadPrefix = "head.";
constexpr double kHeadInitStd = 0.02;  // HookedViT::init_weights' std, for a new head

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

HookedViT resumedModel(const TrainConfig& config, const CheckpointInfo& latest,
                       const std::function<void(const std::string&)>& say) {
  say("loading checkpoint " + latest.name);
  // A shipped mouse's checkpoint series keeps weights only; say what to do instead of
  // failing on the missing file after the data is prepared.
  if (!hasOptimizerState(latest.path))
    throw Error((fs::path(latest.path) / kOptimizerStateFile).string(), "",
                "missing: this checkpoint keeps weights only (as a shipped mouse's series does), so the run "
                "cannot resume; start a new run from it with --from " + latest.path);
  HookedViT model = io::loadModel(latest.path).model;
  if (nlohmann::json(model->cfg()) != nlohmann::json(config.model))
    throw Error(latest.path, "config.json", "the checkpoint's model differs from the run's preset.json");
  return model;
}

HookedViT fineTunedModel(TrainConfig& config, const std::vector<std::string>& classNames,
                         const std::function<void(const std::string&)>& say) {
  say("loading " + config.finetune.from);
  auto loaded = io::loadModel(config.finetune.from);
  HookedViT model = loaded.model;
  if (config.finetune.new_head > 0) {
    const int n = config.finetune.new_head;
    model->replace_head(n, static_cast<int>(classNames.size()) == n ? classNames : std::vector<std::string>{});
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(config.optimization.seed);
    model->head->W_H.normal_(0.0, kHeadInitStd, gen);
    model->head->b_H.zero_();
  }
  // The run is now this model with its own preprocessing; preset.json records both.
  config.model = model->cfg();
  config.dataset.mean = loaded.preprocess.mean;
  config.dataset.std = loaded.preprocess.std;
  config.dataset.interpolation = loaded.preprocess.interpolation;
  config.validate(config.finetune.from);
  return model;
}

HookedViT freshModel(TrainConfig& config, const std::vector<std::string>& classNames) {
  if (static_cast<int>(classNames.size()) == config.model.n_classes) config.model.class_names = classNames;
  HookedViT model(config.model);
  initialize(*model, config.model.init, config.optimization.seed);
  return model;
}

}  // namespace

HookedViT setUpModel(TrainConfig& config, const std::vector<std::string>& classNames,
                     const std::optional<CheckpointInfo>& resumeFrom,
                     const std::function<void(const std::string&)>& say) {
  HookedViT model = resumeFrom ? resumedModel(config, *resumeFrom, say)
                    : !config.finetune.from.empty() ? fineTunedModel(config, classNames, say)
                                                    : freshModel(config, classNames);
  if (static_cast<int>(classNames.size()) != model->cfg().n_classes)
    throw Error(config.dataset.name, "model.n_classes",
                "the dataset has " + std::to_string(classNames.size()) + " classes but the model " +
                    std::to_string(model->cfg().n_classes) +
                    (config.finetune.from.empty() ? " (set model.n_classes)" : " (fine-tune with a new head)"));
  model->train();
  return model;
}

NamedParameters trainedParameters(HookedViTImpl& model, const TrainConfig& config) {
  NamedParameters params;
  for (auto& item : model.named_parameters()) {
    const bool train = !config.finetune.freeze_backbone || startsWith(item.key(), kHeadPrefix);
    item.value().set_requires_grad(train);
    if (train) params.emplace_back(item.key(), item.value());
  }
  if (params.empty()) throw Error(config.name, "finetune.freeze_backbone", "no parameter is left to train");
  return params;
}

}  // namespace prisma::train
