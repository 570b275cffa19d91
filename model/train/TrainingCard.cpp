#include "model/train/TrainingCard.h"

#include "model/core/Numbers.h"
#include "model/runtime/Runtime.h"
#include "model/train/ClassifierObjective.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace prisma::train {
namespace {

constexpr size_t kMaxListedClasses = 20;

std::string fixed(double v, int digits = 4) {
  return std::isnan(v) ? "–" : formatFixed(v, digits);
}

std::string general(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string duration(double s) {
  char buf[48];
  const long long t = static_cast<long long>(std::llround(s));
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh %02lldm %02llds", t / 3600, t / 60 % 60, t % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%lldm %02llds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// YAML-safe scalar: quote anything that is not a plain identifier.
std::string yaml(const std::string& s) {
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      std::string q = "\"";
      for (char d : s) q += (d == '"' || d == '\\') ? std::string("\\") + d : std::string(1, d);
      return q + "\"";
    }
  return s.empty() ? "\"\"" : s;
}

std::string scheduleFormula(const TrainConfig& c) {
  const auto& s = c.optimization.schedule;
  const std::string warm = "lr·step/" + std::to_string(s.warmup_steps) + " for step < " + std::to_string(s.warmup_steps);
  switch (s.type) {
    case ScheduleType::WarmupStep:
      return "WarmupThenStepLR (ViT-Prisma): " + warm + ", then lr·" + general(s.gamma) + "^⌊(step−" +
             std::to_string(s.warmup_steps) + ")/" + std::to_string(s.step_size) + "⌋; per update";
    case ScheduleType::WarmupCosine:
      return "warm-up + cosine: " + warm + ", then min_lr + (lr−min_lr)·(1+cos(π·progress))/2 down to " +
             general(s.min_lr) + " at the last planned step; per update";
    case ScheduleType::Constant: return "warm-up then constant: " + warm + ", then lr";
  }
  return "";
}

}  // namespace

HardwareInfo currentHardware() {
  HardwareInfo h;
  h.cpu = runtime::cpuModel();
  h.cores = runtime::availableCores();
  h.threads = at::get_num_threads();
  const auto b = runtime::blasInfo();
  h.blas = b.vendor + (b.core.empty() ? "" : " (core " + b.core + ")") +
           (b.threads > 0 ? ", " + std::to_string(b.threads) + " threads" : "") + ", " + b.library;
  h.libtorch = TORCH_VERSION;
  return h;
}

std::string trainingCard(const TrainingCardInfo& in) {
  const EvalMetrics train = classifierMetrics(in.final, Part::Train);
  const EvalMetrics test = classifierMetrics(in.final, Part::Test);
  const TrainConfig& c = in.config;
  const ViTConfig& m = c.model;
  const auto& o = c.optimization;
  std::ostringstream s;
  const std::string dataset = c.dataset.name;

  // Front matter (https://huggingface.co/docs/hub/model-cards).
  s << "---\n"
    << "library_name: prisma-explorer\n"
    << "pipeline_tag: image-classification\n"
    << "tags:\n- vision-transformer\n- image-classification\n- mechanistic-interpretability\n- vit-prisma\n"
    << "- " << yaml(c.name.empty() ? "custom" : c.name) << "\n"
    << (m.attn_only ? "- attention-only\n" : "")
    << "datasets:\n- " << yaml(dataset) << "\n"
    << "metrics:\n- accuracy\n- top-5-accuracy\n- cross-entropy\n"
    << "model-index:\n- name: " << yaml(in.run_name) << "\n  results:\n"
    << "  - task:\n      type: image-classification\n      name: Image classification\n"
    << "    dataset:\n      name: " << yaml(dataset) << "\n      type: " << yaml(dataset) << "\n      split: "
    << (in.test_held_out ? "held-out 20% of train" : "test") << "\n"
    << "    metrics:\n";
  auto metric = [&](const char* type, const char* name, double v) {
    if (!std::isnan(v)) s << "    - type: " << type << "\n      name: " << name << "\n      value: " << fixed(v, 6) << "\n";
  };
  metric("accuracy", "Test accuracy", test.top1);
  metric("top-5-accuracy", "Test top-5 accuracy", test.top5);
  metric("cross-entropy", "Test loss", test.loss);
  s << "---\n\n";

  s << "# " << in.run_name << "\n\n"
    << "A Vision Transformer trained by Prisma Explorer's trainer (C++/LibTorch) from the `" << c.name
    << "` preset" << (c.description.empty() ? "" : ": " + c.description) << ".\n";
  if (!c.finetune.from.empty())
    s << "Fine-tuned from `" << c.finetune.from << "`"
      << (c.finetune.new_head > 0 ? " with a new " + std::to_string(c.finetune.new_head) + "-class head" : "")
      << (c.finetune.freeze_backbone ? ", backbone frozen (head trained only)" : "") << ".\n";
  s << "\nThis folder is a model: `prisma info FOLDER`, `prisma run FOLDER ...`, or open it in the explorer; every "
       "checkpoint folder loads the same way.\n\n";

  s << "## Results\n\n| split | loss | top-1 accuracy | top-5 accuracy | items |\n|---|---|---|---|---|\n"
    << "| train (subset) | " << fixed(train.loss) << " | " << fixed(train.top1) << " | "
    << fixed(train.top5) << " | " << train.count << " |\n"
    << "| test" << (in.test_held_out ? " (held out of train)" : "") << " | " << fixed(test.loss) << " | "
    << fixed(test.top1) << " | " << fixed(test.top5) << " | " << test.count << " |\n\n"
    << "After " << in.steps << " updates (" << in.samples << " images seen, " << fixed(in.final.epoch, 2)
    << " epochs); stopped: " << in.stop_reason << ". Chance level is " << fixed(1.0 / std::max(1, m.n_classes), 4)
    << ".\n\n";
  if (!in.curves_file.empty()) s << "![loss and accuracy curves](" << in.curves_file << ")\n\n";

  s << "## Model\n\n| field | value |\n|---|---|\n"
    << "| image | " << m.image_size << "×" << m.image_size << ", " << m.n_channels << " channel(s), patch "
    << m.patch_size << " (" << m.n_tokens() << " tokens) |\n"
    << "| width | d_model " << m.d_model << ", " << m.n_heads << " heads × d_head " << m.d_head << " |\n"
    << "| depth | " << m.n_layers << " layer(s), "
    << (m.attn_only ? std::string("attention-only") : "MLP " + std::to_string(m.d_mlp) + ", " + toString(m.activation))
    << " |\n"
    << "| LayerNorm | " << (m.has_ln() ? toString(m.normalization) + ", eps " + general(m.eps) : std::string("none"))
    << (m.legacy_post_ln ? ", post-LN" : "") << " |\n"
    << "| pooling | " << toString(m.pooling) << " |\n"
    << "| classes | " << m.n_classes << " |\n"
    << "| parameters | " << in.parameters << " (" << in.trainable_parameters << " trained) |\n\n";

  s << "## Training data\n\n"
    << "- Dataset: `" << dataset << "`" << (in.dataset_description.empty() ? "" : " — " + in.dataset_description)
    << "; generation/split seed " << c.dataset.seed << ".\n"
    << "- Train part: " << in.train_size << " items; test part: " << in.test_size << " items"
    << (in.test_held_out ? " (a seeded " + fixed(c.dataset.test_fraction * 100, 0) +
                               " % of the train split: the dataset has no test split)"
                         : " (the dataset's test split)")
    << ".\n"
    << "- Order of training data: one permutation per epoch from data seed **" << o.data_seed
    << "** (splitmix64 stream per epoch, mt19937_64 Fisher–Yates), the last batch of an epoch smaller when the "
       "batch size does not divide the train part; "
    << in.steps_per_epoch << " updates per epoch.\n"
    << "- Preprocessing: resize to " << m.image_size << "×" << m.image_size << " ("
    << datasets::toString(c.dataset.interpolation) << "), scale to [0, 1], (x − mean)/std with mean [";
  for (size_t i = 0; i < c.dataset.mean.size(); ++i) s << (i ? ", " : "") << c.dataset.mean[i];
  s << "], std [";
  for (size_t i = 0; i < c.dataset.std.size(); ++i) s << (i ? ", " : "") << c.dataset.std[i];
  s << "].\n";
  if (!in.class_names.empty()) {
    s << "- Classes: ";
    for (size_t i = 0; i < in.class_names.size() && i < kMaxListedClasses; ++i)
      s << (i ? ", " : "") << in.class_names[i];
    if (in.class_names.size() > kMaxListedClasses) s << ", … (" << in.class_names.size() << ")";
    s << ".\n";
  }

  s << "\n## Training procedure\n\n| hyperparameter | value |\n|---|---|\n"
    << "| optimizer | AdamW (LibTorch `torch::optim::AdamW`), betas (" << general(o.beta1) << ", " << general(o.beta2)
    << "), eps " << general(o.eps) << ", weight decay " << general(o.weight_decay) << " |\n"
    << "| learning rate | " << general(o.lr) << " |\n"
    << "| schedule | " << scheduleFormula(c) << " |\n"
    << "| batch size | " << o.batch_size
    << (in.world_size > 1 ? " (global; " + std::to_string(in.world_size) + " data-parallel processes)" : "")
    << " |\n"
    << "| epochs / max steps | " << o.epochs << " / " << o.max_steps << " (planned updates: " << in.planned_steps
    << ") |\n"
    << "| gradient clipping | "
    << (o.max_grad_norm ? "global L2 norm ≤ " + general(*o.max_grad_norm) : std::string("none")) << " |\n"
    << "| loss | cross-entropy |\n"
    << "| early stopping | "
    << (o.early_stopping.metric == EarlyStopMetric::None || o.early_stopping.patience == 0
            ? std::string("off")
            : toString(o.early_stopping.metric) + ", patience " + std::to_string(o.early_stopping.patience) +
                  (o.early_stopping.every == EarlyStopEvery::Epoch ? " epochs (on the latest evaluation)" : " evaluations") +
                  ", min delta " + general(o.early_stopping.min_delta))
    << " |\n"
    << "| initialisation | "
    << (c.finetune.from.empty() ? describe(m.init)
                                : std::string("the weights of the model fine-tuned") +
                                      (c.finetune.new_head > 0 ? "; the new head N(0, 0.02), bias 0" : ""))
    << "; seed " << o.seed << " |\n"
    << "| data-order seed | " << o.data_seed << " |\n"
    << "| evaluation | every " << c.logging.log_every << " updates on at most " << c.logging.eval_batches
    << " batches of each part (a fixed seeded subset) |\n"
    << "| precision | float32 |\n\n"
    << "The full preset is in `preset.json`; per-evaluation metrics in `metrics.csv` and the TensorBoard event "
       "file (`tensorboard --logdir .`).\n\n";

  s << "## Hardware and time\n\n"
    << "- CPU: " << in.hardware.cpu << " (" << in.hardware.cores << " cores available), " << in.hardware.threads
    << " LibTorch threads\n"
    << "- BLAS: " << in.hardware.blas << "\n"
    << "- LibTorch " << in.hardware.libtorch << "\n"
    << "- Processes: " << in.world_size
    << (in.world_size > 1 ? " (data-parallel, c10d + Gloo; hardware above is rank 0's)" : "") << "\n"
    << "- Wall time of training: " << duration(in.elapsed_s) << " over " << in.sessions << " session(s)"
    << (in.finished_at.empty() ? "" : ", finished " + in.finished_at) << "\n\n";

  s << "## Checkpoints\n\nIn `checkpoints/`, each a loadable model folder with `training.json` and "
       "`optimizer.safetensors` (resume with `prisma train --resume`):\n\n"
    << "| folder | step | images seen |\n|---|---|---|\n";
  for (const auto& ck : in.checkpoints)
    s << "| `" << ck.name << "` | " << ck.step << " | " << ck.samples << " |\n";
  return s.str();
}

}  // namespace prisma::train
