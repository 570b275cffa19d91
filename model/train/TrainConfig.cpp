// Strict JSON I/O for training presets: each section's keys are checked against the
// fields it knows, numbers against their ranges, and every error names "section.field".

#include "model/train/TrainConfig.h"

#include "model/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <type_traits>

namespace prisma::train {
namespace {

constexpr const char* kFormat = "prisma-train-preset";
constexpr int kFormatVersion = 1;
// Bounds that catch typos (an extra zero or two) without limiting real runs.
constexpr int kMaxBatch = 1 << 16;
constexpr int kMaxEpochs = 1000000;
constexpr int64_t kMaxSteps = int64_t(1) << 40;

struct EnumName {
  int value;
  const char* name;
};
const EnumName kSchedules[] = {{int(ScheduleType::WarmupStep), "warmup_step"},
                               {int(ScheduleType::WarmupCosine), "warmup_cosine"},
                               {int(ScheduleType::Constant), "constant"}};
const EnumName kStopMetrics[] = {{int(EarlyStopMetric::None), "none"},
                                 {int(EarlyStopMetric::TestAcc), "test_acc"},
                                 {int(EarlyStopMetric::TrainAcc), "train_acc"}};
const EnumName kStopEvery[] = {{int(EarlyStopEvery::Evaluation), "evaluation"}, {int(EarlyStopEvery::Epoch), "epoch"}};

template <size_t N>
std::string nameOf(const EnumName (&table)[N], int v) {
  for (const auto& e : table)
    if (e.value == v) return e.name;
  return "?";
}

// Reads one JSON object section; `prefix` ("optimization.") makes field names dotted.
class Section {
public:
  Section(const nlohmann::json& j, std::string source, std::string prefix)
      : j_(j), source_(std::move(source)), prefix_(std::move(prefix)) {
    if (!j_.is_object())
      throw Error(source_, prefix_.empty() ? "" : prefix_.substr(0, prefix_.size() - 1),
                  "must be a JSON object");
  }

  // Unknown keys are errors: a misspelt field must not silently train with a default.
  void allowOnly(const std::set<std::string>& keys) const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (keys.count(it.key())) continue;
      std::string known;
      for (const auto& k : keys) known += (known.empty() ? "" : ", ") + k;
      throw Error(source_, field(it.key()), "unknown key (known: " + known + ")");
    }
  }

  const nlohmann::json* find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }

  std::string field(const std::string& key) const { return prefix_ + key; }
  const std::string& source() const { return source_; }

  void read(const char* key, std::string& out) const {
    if (auto v = find(key)) {
      if (!v->is_string()) fail(key, "must be a string, got " + std::string(v->type_name()));
      out = v->get<std::string>();
    }
  }
  void read(const char* key, bool& out) const {
    if (auto v = find(key)) {
      if (!v->is_boolean()) fail(key, "must be true or false, got " + std::string(v->type_name()));
      out = v->get<bool>();
    }
  }
  void read(const char* key, double& out) const {
    if (auto v = find(key)) {
      if (!v->is_number()) fail(key, "must be a number, got " + std::string(v->type_name()));
      out = v->get<double>();
      if (!std::isfinite(out)) fail(key, "must be finite");
    }
  }
  template <typename Int>
  void readInt(const char* key, Int& out) const {
    auto v = find(key);
    if (!v) return;
    // long double holds every int64 and uint64 exactly (64-bit mantissa on x86-64).
    long double value = 0;
    if (v->is_number_unsigned()) value = static_cast<long double>(v->get<uint64_t>());
    else if (v->is_number_integer()) value = static_cast<long double>(v->get<int64_t>());
    else if (v->is_number_float()) {
      const double d = v->get<double>();
      if (!std::isfinite(d) || d != std::floor(d)) fail(key, "must be a whole number, got " + v->dump());
      value = d;
    } else {
      fail(key, "must be a whole number, got " + std::string(v->type_name()));
    }
    if (value < 0 && std::is_unsigned<Int>::value) fail(key, "must not be negative, got " + v->dump());
    if (value > static_cast<long double>(std::numeric_limits<Int>::max()) ||
        value < static_cast<long double>(std::numeric_limits<Int>::lowest()))
      fail(key, "is out of range: " + v->dump());
    out = static_cast<Int>(value);
  }
  void read(const char* key, int& out) const { readInt(key, out); }
  void read(const char* key, int64_t& out) const { readInt(key, out); }
  void read(const char* key, uint64_t& out) const { readInt(key, out); }
  void read(const char* key, std::vector<float>& out) const {
    if (auto v = find(key)) {
      if (!v->is_array()) fail(key, "must be a list of numbers");
      out.clear();
      for (const auto& x : *v) {
        if (!x.is_number()) fail(key, "must be a list of numbers");
        out.push_back(x.get<float>());
      }
    }
  }
  template <size_t N>
  void readEnum(const char* key, const EnumName (&table)[N], int& out) const {
    std::string name;
    read(key, name);
    if (name.empty()) return;
    std::string options;
    for (const auto& e : table) {
      if (name == e.name) {
        out = e.value;
        return;
      }
      options += std::string(options.empty() ? "" : ", ") + e.name;
    }
    fail(key, "unknown value '" + name + "' (expected one of " + options + ")");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    throw Error(source_, field(key), message);
  }

private:
  const nlohmann::json& j_;
  std::string source_;
  std::string prefix_;
};

// configFromJson names fields without the section; put "model." in front.
[[noreturn]] void rethrowInModel(const Error& e, const std::string& source) {
  const std::string prefix = Error(e.source(), e.field(), "").what();
  const std::string what = e.what();
  const std::string message = what.compare(0, prefix.size(), prefix) == 0 ? what.substr(prefix.size()) : what;
  throw Error(source, e.field().empty() ? "model" : "model." + e.field(), message);
}

ViTConfig readModel(const nlohmann::json& j, const std::string& source) {
  Section s(j, source, "model.");
  nlohmann::json known = ViTConfig{};
  std::set<std::string> keys;
  for (auto it = known.begin(); it != known.end(); ++it) keys.insert(it.key());
  s.allowOnly(keys);
  try {
    return configFromJson(j, source);
  } catch (const Error& e) {
    rethrowInModel(e, source);
  }
}

}  // namespace

std::string toString(ScheduleType v) { return nameOf(kSchedules, int(v)); }
std::string toString(EarlyStopMetric v) { return nameOf(kStopMetrics, int(v)); }
std::string toString(EarlyStopEvery v) { return nameOf(kStopEvery, int(v)); }

int64_t TrainConfig::totalSteps(int64_t stepsPerEpoch) const {
  int64_t total = std::numeric_limits<int64_t>::max();
  if (optimization.epochs > 0) total = stepsPerEpoch * optimization.epochs;
  if (optimization.max_steps > 0) total = std::min(total, optimization.max_steps);
  return total;
}

datasets::Preprocess TrainConfig::preprocess() const {
  datasets::Preprocess p;
  p.height = p.width = model.image_size;
  p.channels = model.n_channels;
  p.interpolation = dataset.interpolation;
  p.mean = dataset.mean;
  p.std = dataset.std;
  return p;
}

void TrainConfig::validate(const std::string& source) const {
  auto fail = [&](const std::string& field, const std::string& message) {
    throw Error(source, field, message);
  };
  try {
    model.validate(source);
  } catch (const Error& e) {
    rethrowInModel(e, source);
  }
  if (model.return_type != ReturnType::Logits)
    fail("model.return_type", "a classifier is trained on logits");

  const auto& d = dataset;
  if (d.name.empty()) fail("dataset.name", "must name a dataset");
  if (!(d.test_fraction > 0.0 && d.test_fraction < 1.0)) fail("dataset.test_fraction", "must be in (0, 1)");
  if (static_cast<int>(d.mean.size()) != model.n_channels)
    fail("dataset.mean", "needs one value per channel (" + std::to_string(model.n_channels) + ")");
  if (static_cast<int>(d.std.size()) != model.n_channels)
    fail("dataset.std", "needs one value per channel (" + std::to_string(model.n_channels) + ")");
  for (float s : d.std)
    if (!(s > 0.0f) || !std::isfinite(s)) fail("dataset.std", "every value must be positive");
  for (float m : d.mean)
    if (!std::isfinite(m)) fail("dataset.mean", "every value must be finite");

  const auto& o = optimization;
  if (!(o.lr > 0.0)) fail("optimization.lr", "must be positive");
  if (o.batch_size < 1 || o.batch_size > kMaxBatch)
    fail("optimization.batch_size", "must be in [1, " + std::to_string(kMaxBatch) + "]");
  if (o.epochs < 0 || o.epochs > kMaxEpochs)
    fail("optimization.epochs", "must be in [0, " + std::to_string(kMaxEpochs) + "]");
  if (o.max_steps < 0 || o.max_steps > kMaxSteps) fail("optimization.max_steps", "must be in [0, 2^40]");
  if (o.epochs == 0 && o.max_steps == 0)
    fail("optimization.epochs", "epochs and max_steps are both 0: the run would never end");
  if (!(o.weight_decay >= 0.0)) fail("optimization.weight_decay", "must not be negative");
  if (!(o.beta1 >= 0.0 && o.beta1 < 1.0)) fail("optimization.betas", "beta1 must be in [0, 1)");
  if (!(o.beta2 >= 0.0 && o.beta2 < 1.0)) fail("optimization.betas", "beta2 must be in [0, 1)");
  if (!(o.eps > 0.0)) fail("optimization.eps", "must be positive");
  if (o.max_grad_norm && !(*o.max_grad_norm > 0.0))
    fail("optimization.max_grad_norm", "must be positive (null for no clipping)");
  const auto& s = o.schedule;
  if (s.warmup_steps < 0) fail("optimization.schedule.warmup_steps", "must not be negative");
  if (s.step_size < 1) fail("optimization.schedule.step_size", "must be at least 1");
  if (!(s.gamma > 0.0 && s.gamma <= 1.0)) fail("optimization.schedule.gamma", "must be in (0, 1]");
  if (!(s.min_lr >= 0.0 && s.min_lr <= o.lr)) fail("optimization.schedule.min_lr", "must be in [0, lr]");
  if (o.early_stopping.patience < 0) fail("optimization.early_stopping.patience", "must not be negative");
  if (!(o.early_stopping.min_delta >= 0.0))
    fail("optimization.early_stopping.min_delta", "must not be negative");

  const auto& l = logging;
  if (l.log_every < 0) fail("logging.log_every", "must not be negative");
  if (l.eval_batches < 0) fail("logging.eval_batches", "must not be negative");
  if (l.checkpoint_every < 0) fail("logging.checkpoint_every", "must not be negative");
  if (o.early_stopping.metric != EarlyStopMetric::None && o.early_stopping.patience > 0 && l.log_every == 0)
    fail("optimization.early_stopping", "needs evaluations: set logging.log_every");

  if (finetune.new_head < 0) fail("finetune.new_head", "must not be negative");
  if (finetune.from.empty() && (finetune.new_head > 0 || finetune.freeze_backbone))
    fail("finetune.from", "new_head and freeze_backbone need a model to start from");
}

void to_json(nlohmann::json& j, const TrainConfig& c) {
  const auto& d = c.dataset;
  const auto& o = c.optimization;
  const auto& l = c.logging;
  j = nlohmann::json{
      {"format", kFormat},
      {"format_version", kFormatVersion},
      {"name", c.name},
      {"description", c.description},
      {"model", c.model},
      {"dataset",
       {{"name", d.name},
        {"seed", d.seed},
        {"test_fraction", d.test_fraction},
        {"label_factor", d.label_factor},
        {"subsample", d.subsample},
        {"path", d.path},
        {"mean", d.mean},
        {"std", d.std},
        {"interpolation", datasets::toString(d.interpolation)}}},
      {"optimization",
       {{"optimizer", "adamw"},
        {"loss", "cross_entropy"},
        {"lr", o.lr},
        {"batch_size", o.batch_size},
        {"epochs", o.epochs},
        {"max_steps", o.max_steps},
        {"weight_decay", o.weight_decay},
        {"betas", {o.beta1, o.beta2}},
        {"eps", o.eps},
        {"max_grad_norm", o.max_grad_norm ? nlohmann::json(*o.max_grad_norm) : nlohmann::json()},
        {"schedule",
         {{"type", toString(o.schedule.type)},
          {"warmup_steps", o.schedule.warmup_steps},
          {"step_size", o.schedule.step_size},
          {"gamma", o.schedule.gamma},
          {"min_lr", o.schedule.min_lr}}},
        {"seed", o.seed},
        {"data_seed", o.data_seed},
        {"early_stopping",
         {{"metric", toString(o.early_stopping.metric)},
          {"patience", o.early_stopping.patience},
          {"min_delta", o.early_stopping.min_delta},
          {"every", toString(o.early_stopping.every)}}}}},
      {"logging",
       {{"log_every", l.log_every},
        {"eval_batches", l.eval_batches},
        {"checkpoint_every", l.checkpoint_every},
        {"log_spaced_checkpoints", l.log_spaced_checkpoints}}},
      {"finetune",
       {{"from", c.finetune.from},
        {"new_head", c.finetune.new_head},
        {"freeze_backbone", c.finetune.freeze_backbone}}}};
}

TrainConfig trainConfigFromJson(const nlohmann::json& j, const std::string& source) {
  TrainConfig c;
  Section root(j, source, "");
  root.allowOnly({"format", "format_version", "name", "description", "model", "dataset",
                  "optimization", "logging", "finetune"});
  std::string format;
  root.read("format", format);
  if (!format.empty() && format != kFormat) root.fail("format", "expected '" + std::string(kFormat) + "'");
  int version = kFormatVersion;
  root.read("format_version", version);
  if (version != kFormatVersion)
    root.fail("format_version", "version " + std::to_string(version) + " is not supported (expected " +
                                    std::to_string(kFormatVersion) + ")");
  root.read("name", c.name);
  root.read("description", c.description);

  if (auto m = root.find("model")) c.model = readModel(*m, source);

  if (auto dj = root.find("dataset")) {
    Section s(*dj, source, "dataset.");
    s.allowOnly({"name", "seed", "test_fraction", "label_factor", "subsample", "path", "mean", "std",
                 "interpolation"});
    auto& d = c.dataset;
    s.read("name", d.name);
    s.read("seed", d.seed);
    s.read("test_fraction", d.test_fraction);
    s.read("label_factor", d.label_factor);
    s.read("subsample", d.subsample);
    s.read("path", d.path);
    s.read("mean", d.mean);
    s.read("std", d.std);
    std::string interp;
    s.read("interpolation", interp);
    if (!interp.empty()) {
      try {
        d.interpolation = datasets::interpolationFromString(interp);
      } catch (const std::invalid_argument& e) {
        s.fail("interpolation", e.what());
      }
    }
  }

  if (auto oj = root.find("optimization")) {
    Section s(*oj, source, "optimization.");
    s.allowOnly({"optimizer", "loss", "lr", "batch_size", "epochs", "max_steps", "weight_decay", "betas",
                 "eps", "max_grad_norm", "schedule", "seed", "data_seed", "early_stopping"});
    auto& o = c.optimization;
    std::string optimizer = "adamw", loss = "cross_entropy";
    s.read("optimizer", optimizer);
    if (optimizer != "adamw") s.fail("optimizer", "only 'adamw' is supported");
    s.read("loss", loss);
    if (loss != "cross_entropy") s.fail("loss", "only 'cross_entropy' is supported");
    s.read("lr", o.lr);
    s.read("batch_size", o.batch_size);
    s.read("epochs", o.epochs);
    s.read("max_steps", o.max_steps);
    s.read("weight_decay", o.weight_decay);
    if (auto b = s.find("betas")) {
      if (!b->is_array() || b->size() != 2 || !(*b)[0].is_number() || !(*b)[1].is_number())
        s.fail("betas", "must be a list of two numbers");
      o.beta1 = (*b)[0].get<double>();
      o.beta2 = (*b)[1].get<double>();
    }
    s.read("eps", o.eps);
    if (oj->contains("max_grad_norm")) {
      if ((*oj)["max_grad_norm"].is_null()) {
        o.max_grad_norm.reset();
      } else {
        double v = 0;
        s.read("max_grad_norm", v);
        o.max_grad_norm = v;
      }
    }
    if (auto sj = s.find("schedule")) {
      Section ss(*sj, source, "optimization.schedule.");
      ss.allowOnly({"type", "warmup_steps", "step_size", "gamma", "min_lr"});
      int type = int(o.schedule.type);
      ss.readEnum("type", kSchedules, type);
      o.schedule.type = ScheduleType(type);
      ss.read("warmup_steps", o.schedule.warmup_steps);
      ss.read("step_size", o.schedule.step_size);
      ss.read("gamma", o.schedule.gamma);
      ss.read("min_lr", o.schedule.min_lr);
    }
    s.read("seed", o.seed);
    s.read("data_seed", o.data_seed);
    if (auto ej = s.find("early_stopping")) {
      Section es(*ej, source, "optimization.early_stopping.");
      es.allowOnly({"metric", "patience", "min_delta", "every"});
      int metric = int(o.early_stopping.metric);
      es.readEnum("metric", kStopMetrics, metric);
      o.early_stopping.metric = EarlyStopMetric(metric);
      es.read("patience", o.early_stopping.patience);
      es.read("min_delta", o.early_stopping.min_delta);
      int every = int(o.early_stopping.every);
      es.readEnum("every", kStopEvery, every);
      o.early_stopping.every = EarlyStopEvery(every);
    }
  }

  if (auto lj = root.find("logging")) {
    Section s(*lj, source, "logging.");
    s.allowOnly({"log_every", "eval_batches", "checkpoint_every", "log_spaced_checkpoints"});
    s.read("log_every", c.logging.log_every);
    s.read("eval_batches", c.logging.eval_batches);
    s.read("checkpoint_every", c.logging.checkpoint_every);
    s.read("log_spaced_checkpoints", c.logging.log_spaced_checkpoints);
  }

  if (auto fj = root.find("finetune")) {
    Section s(*fj, source, "finetune.");
    s.allowOnly({"from", "new_head", "freeze_backbone"});
    s.read("from", c.finetune.from);
    s.read("new_head", c.finetune.new_head);
    s.read("freeze_backbone", c.finetune.freeze_backbone);
  }

  c.validate(source);
  return c;
}

}  // namespace prisma::train
