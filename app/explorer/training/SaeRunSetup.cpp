// The SAE form's values as `prisma sae train` reads its options; see SaeRunSetup.h.

#include "app/explorer/training/SaeRunSetup.h"

#include "model/Error.h"
#include "model/io/ModelLoader.h"
#include "model/sae/HookWidth.h"
#include "model/train/Presets.h"
#include "model/vit/HookNames.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace prisma::app {

namespace {

const char* const kForm = "SAE form";

// Hooks whose activation is no [batch, tokens, width] row per token: an SAE over them
// would read attention maps as vectors.
bool rowHook(const std::string& name) {
  for (const char* suffix : {"hook_attn_scores", "hook_pattern"})
    if (name.size() >= std::strlen(suffix) && name.compare(name.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
      return false;
  return true;
}

}  // namespace

sae::SaeTrainConfig saeTrainConfig(const SaeRunSettings& f) {
  sae::SaeTrainConfig c = sae::SaeTrainConfig::defaults();
  c.model = f.model.trimmed().toStdString();
  c.dataset = f.dataset.trimmed().toStdString();
  if (c.model.empty()) throw Error(kForm, "model", "is empty");
  if (c.dataset.empty()) throw Error(kForm, "dataset", "is empty");
  auto& s = c.settings;
  s.sae.hook_name = f.hook.trimmed().toStdString();
  try {
    s.sae.tokens = sae::tokenSelectionFromName(f.tokens.toStdString());
    s.sae.activation = sae::activationFromName(f.activation.toStdString());
  } catch (const std::invalid_argument& e) {
    throw Error(kForm, "tokens / activation", e.what());
  }
  s.sae.d_in = sae::hookWidth(*io::loadModel(c.model).model, s.sae.hook_name, c.model);
  s.sae.d_sae = f.dSae > 0 ? f.dSae : s.sae.d_in * f.expansion;
  if (s.sae.d_sae <= 0) throw Error(kForm, "expansion", "d_sae must be positive");
  if (s.sae.activation == sae::Activation::TopK) {
    s.sae.k = f.k;
    if (s.sae.k <= 0 || s.sae.k > s.sae.d_sae)
      throw Error(kForm, "k", "TopK needs 0 < k <= d_sae (" + std::to_string(s.sae.d_sae) + ")");
  }
  s.sae.l1_coefficient = f.l1;
  s.seed = uint64_t(f.seed);
  auto& o = c.optimization;
  o.lr = f.lr;
  o.batch_size = f.batch;
  o.max_steps = f.maxSteps;
  o.epochs = f.maxSteps > 0 ? 0 : 1;
  o.schedule.warmup_steps = f.warmup;
  o.seed = o.data_seed = s.seed;
  c.logging.log_every = f.logEvery;
  c.logging.eval_batches = f.evalBatches;
  c.logging.checkpoint_every = f.checkpointEvery;
  return c;
}

SaeModelProbe probeSaeModel(const QString& source) {
  SaeModelProbe p;
  p.source = source;
  try {
    const io::LoadedModel m = io::loadModel(source.trimmed().toStdString());
    for (const std::string& name : m.model->hook_names())
      if (rowHook(name)) p.hooks << QString::fromStdString(name);
    const int last = std::max(0, m.model->cfg().n_layers - 1);
    p.defaultHook = QString::fromStdString(hookName(last, "hook_resid_pre"));
    p.dataset = QString::fromStdString(train::presetDatasetOf(m.source));
  } catch (const std::exception& e) {
    p = SaeModelProbe{};
    p.source = source;
    p.error = QString::fromStdString(e.what());
  }
  return p;
}

}  // namespace prisma::app
