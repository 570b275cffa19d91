#include "app/explorer/training/SaeRunForm.h"

#include "datasets/DatasetRegistry.h"

#include <QComboBox>
#include <QDoubleValidator>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>

#include <cmath>
#include <limits>

namespace prisma::app {

namespace {

const char* const kSettingsGroup = "training/sae";
constexpr int kMaxCount = 1'000'000'000;
constexpr int kMaxExpansion = 1024;
constexpr int kMaxBatch = 65536;
constexpr int kDoubleDigits = 12;
const char* const kRelu = "relu";
const char* const kTopK = "topk";

QString number(double v) { return QString::number(v, 'g', kDoubleDigits); }

// A positive (or, with `zeroOk`, non-negative) finite number typed into `edit`.
bool readDouble(const QLineEdit* edit, bool zeroOk, double& value) {
  bool ok = false;
  value = edit->text().trimmed().toDouble(&ok);
  return ok && std::isfinite(value) && (zeroOk ? value >= 0.0 : value > 0.0);
}

}  // namespace

SaeRunForm::SaeRunForm(QWidget* parent) : QWidget(parent) {
  layout_ = new QFormLayout(this);
  // Rows wrap under their label when the panel is narrow: nothing forces a sideways scroll.
  layout_->setRowWrapPolicy(QFormLayout::WrapLongRows);
  layout_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  const SaeRunSettings d;

  model_ = new QLineEdit(d.model, this);
  model_->setObjectName(QStringLiteral("saeModel"));
  model_->setToolTip(tr("--model: a bundled mouse (mouse:NAME), a model folder or a weight file"));
  connect(model_, &QLineEdit::textEdited, this, [this] { modelTyped_ = true; });
  connect(model_, &QLineEdit::editingFinished, this, &SaeRunForm::modelEdited);
  layout_->addRow(tr("Model"), model_);

  hook_ = new QComboBox(this);
  hook_->setObjectName(QStringLiteral("saeHook"));
  hook_->setEditable(true);
  hook_->setMinimumContentsLength(1);
  hook_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  hook_->setToolTip(tr("--hook: the hook point whose activations the SAE reconstructs"));
  connect(hook_, &QComboBox::currentTextChanged, this, &SaeRunForm::validityChanged);
  layout_->addRow(tr("Hook"), hook_);
  probeLabel_ = new QLabel(this);
  probeLabel_->setObjectName(QStringLiteral("saeProbe"));
  probeLabel_->setWordWrap(true);
  probeLabel_->hide();
  layout_->addRow(probeLabel_);

  dataset_ = new QComboBox(this);
  dataset_->setObjectName(QStringLiteral("saeDataset"));
  dataset_->setEditable(true);
  dataset_->setMinimumContentsLength(1);
  dataset_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  for (const auto& info : datasets::builtinDatasets()) {
    dataset_->addItem(QString::fromStdString(info.name));
    dataset_->setItemData(dataset_->count() - 1, QString::fromStdString(info.description), Qt::ToolTipRole);
  }
  dataset_->setCurrentText(QString());
  dataset_->setToolTip(tr("--dataset: a registry name or an image folder (default: the model's own)"));
  connect(dataset_, &QComboBox::activated, this, [this] { datasetTyped_ = true; });
  connect(dataset_->lineEdit(), &QLineEdit::textEdited, this, [this] { datasetTyped_ = true; });
  connect(dataset_, &QComboBox::currentTextChanged, this, &SaeRunForm::validityChanged);
  layout_->addRow(tr("Dataset"), dataset_);

  tokens_ = new QComboBox(this);
  tokens_->setObjectName(QStringLiteral("saeTokens"));
  tokens_->addItems({QStringLiteral("all"), QStringLiteral("cls"), QStringLiteral("patches")});
  tokens_->setToolTip(tr("--tokens: the rows an image gives: every token, the CLS token, or the patch tokens"));
  layout_->addRow(tr("Tokens"), tokens_);

  activation_ = new QComboBox(this);
  activation_->setObjectName(QStringLiteral("saeActivation"));
  activation_->addItems({QLatin1String(kRelu), QLatin1String(kTopK)});
  activation_->setToolTip(tr("--activation: ReLU with an L1 penalty, or TopK (k features per row, no L1)"));
  connect(activation_, &QComboBox::currentTextChanged, this, &SaeRunForm::updateActivation);
  layout_->addRow(tr("Activation"), activation_);
  k_ = addSpin(QStringLiteral("saeK"), tr("k (TopK)"), 1, kMaxCount, d.k);
  l1_ = addNumber(QStringLiteral("saeL1"), tr("L1 coefficient"), d.l1, tr("--l1: the L1 coefficient (ReLU)"));
  expansion_ = addSpin(QStringLiteral("saeExpansion"), tr("Expansion"), 1, kMaxExpansion, d.expansion);
  expansion_->setToolTip(tr("--expansion: d_sae = expansion \u00d7 d_in"));
  dSae_ = addSpin(QStringLiteral("saeDSae"), tr("d_sae"), 0, kMaxCount, d.dSae);
  dSae_->setSpecialValueText(tr("from expansion"));
  dSae_->setToolTip(tr("--d-sae: the number of features, instead of the expansion"));
  lr_ = addNumber(QStringLiteral("saeLr"), tr("Learning rate"), d.lr, tr("--lr: peak learning rate (warm-up, then cosine)"));
  warmup_ = addSpin(QStringLiteral("saeWarmup"), tr("Warm-up steps"), 0, kMaxCount, d.warmup);
  steps_ = addSpin(QStringLiteral("saeSteps"), tr("Steps"), 0, kMaxCount, d.maxSteps);
  steps_->setSpecialValueText(tr("one epoch"));
  steps_->setToolTip(tr("--max-steps: updates; 0 trains one epoch of the dataset"));
  batch_ = addSpin(QStringLiteral("saeBatch"), tr("Batch (images)"), 1, kMaxBatch, d.batch);
  seed_ = addSpin(QStringLiteral("saeSeed"), tr("Seed"), 0, std::numeric_limits<int>::max(), d.seed);
  logEvery_ = addSpin(QStringLiteral("saeLogEvery"), tr("Evaluate every"), 0, kMaxCount, d.logEvery);
  evalBatches_ = addSpin(QStringLiteral("saeEvalBatches"), tr("Evaluation batches"), 0, kMaxCount, d.evalBatches);
  checkpointEvery_ = addSpin(QStringLiteral("saeCheckpointEvery"), tr("Checkpoint every"), 0, kMaxCount, d.checkpointEvery);
  checkpointEvery_->setSpecialValueText(tr("log-spaced"));
  updateActivation();
}

QSpinBox* SaeRunForm::addSpin(const QString& name, const QString& label, int min, int max, int value) {
  auto* spin = new QSpinBox(this);
  spin->setObjectName(name);
  spin->setRange(min, max);
  spin->setValue(value);
  layout_->addRow(label, spin);
  return spin;
}

QLineEdit* SaeRunForm::addNumber(const QString& name, const QString& label, double value, const QString& toolTip) {
  auto* edit = new QLineEdit(number(value), this);
  edit->setObjectName(name);
  edit->setToolTip(toolTip);
  connect(edit, &QLineEdit::textChanged, this, &SaeRunForm::validityChanged);
  layout_->addRow(label, edit);
  return edit;
}

void SaeRunForm::updateActivation() {
  const bool topk = activation_->currentText() == QLatin1String(kTopK);
  k_->setEnabled(topk);
  l1_->setEnabled(!topk);
  emit validityChanged();
}

SaeRunSettings SaeRunForm::settings() const {
  SaeRunSettings s;
  s.model = model_->text().trimmed();
  s.hook = hook_->currentText().trimmed();
  s.dataset = dataset_->currentText().trimmed();
  s.tokens = tokens_->currentText();
  s.activation = activation_->currentText();
  s.k = k_->value();
  readDouble(l1_, true, s.l1);
  s.expansion = expansion_->value();
  s.dSae = dSae_->value();
  readDouble(lr_, false, s.lr);
  s.warmup = warmup_->value();
  s.maxSteps = steps_->value();
  s.batch = batch_->value();
  s.seed = seed_->value();
  s.logEvery = logEvery_->value();
  s.evalBatches = evalBatches_->value();
  s.checkpointEvery = checkpointEvery_->value();
  return s;
}

void SaeRunForm::setSettings(const SaeRunSettings& s) {
  tokens_->setCurrentText(s.tokens);
  activation_->setCurrentText(s.activation);
  k_->setValue(s.k);
  l1_->setText(number(s.l1));
  expansion_->setValue(s.expansion);
  dSae_->setValue(s.dSae);
  lr_->setText(number(s.lr));
  warmup_->setValue(s.warmup);
  steps_->setValue(s.maxSteps);
  batch_->setValue(s.batch);
  seed_->setValue(s.seed);
  logEvery_->setValue(s.logEvery);
  evalBatches_->setValue(s.evalBatches);
  checkpointEvery_->setValue(s.checkpointEvery);
  dataset_->setCurrentText(s.dataset);
  datasetTyped_ = !s.dataset.isEmpty();
  setModel(s.model, s.hook);
  datasetTyped_ = !s.dataset.isEmpty();
}

void SaeRunForm::setModel(const QString& source, const QString& hook) {
  model_->setText(source);
  datasetTyped_ = false;
  wantedHook_ = hook;
  if (!hook.isEmpty()) hook_->setCurrentText(hook);
  // The model's list is here already: no hook asked for means its proposal.
  else if (probing_.isEmpty() && source.trimmed() == probed_) hook_->setCurrentText(defaultHook_);
  else hook_->setCurrentText(QString());  // the probe's answer proposes one
  modelEdited();
}

void SaeRunForm::offerModel(const QString& source) {
  if (modelTyped_ || source.isEmpty() || source == model_->text()) return;
  setModel(source, hook_->currentText());
}

void SaeRunForm::activate() {
  if (active_) return;
  active_ = true;
  modelEdited();
}

void SaeRunForm::modelEdited() {
  const QString source = model_->text().trimmed();
  if (!active_ || source.isEmpty() || source == probing_ || (probing_.isEmpty() && !hooks_.isEmpty() && source == probed_)) {
    if (probing_.isEmpty()) wantedHook_.clear();  // the list is there: setModel set the hook
    emit validityChanged();
    return;
  }
  if (wantedHook_.isEmpty()) wantedHook_ = hook_->currentText();
  probing_ = source;
  probeError_.clear();
  probeLabel_->setText(tr("Reading the hook points of %1\u2026").arg(source));
  probeLabel_->setStyleSheet(QString());
  probeLabel_->show();
  emit probeRequested(source);
  emit validityChanged();
}

void SaeRunForm::applyProbe(const SaeModelProbe& p) {
  // Answers for a model changed since are stale: the newest request's answer follows.
  if (p.source != probing_) return;
  probing_.clear();
  probed_ = p.source;
  defaultHook_ = p.defaultHook;
  probeError_ = p.error;
  hooks_ = p.hooks;
  const QString wanted = wantedHook_;
  wantedHook_.clear();
  {
    const QSignalBlocker block(hook_);
    hook_->clear();
    hook_->addItems(p.hooks);
    hook_->setCurrentText(p.hooks.contains(wanted) ? wanted : p.defaultHook.isEmpty() ? wanted : p.defaultHook);
  }
  if (!p.dataset.isEmpty() && !datasetTyped_) dataset_->setCurrentText(p.dataset);
  if (p.error.isEmpty()) {
    probeLabel_->hide();
  } else {
    probeLabel_->setText(p.error);
    probeLabel_->setStyleSheet(QStringLiteral("color: #b00000;"));
    probeLabel_->show();
  }
  emit validityChanged();
}

QString SaeRunForm::problem() const {
  double value = 0;
  if (model_->text().trimmed().isEmpty()) return tr("Model: name a model");
  // What the last probe found holds for the model it read, not for one typed since.
  const bool probedThis = !probing() && probed_ == model_->text().trimmed();
  if (probedThis && !probeError_.isEmpty()) return tr("Model: %1").arg(probeError_);
  const QString hook = hook_->currentText().trimmed();
  if (hook.isEmpty()) return tr("Hook: choose a hook point");
  if (probedThis && !hooks_.isEmpty() && !hooks_.contains(hook))
    return tr("Hook: %1 has no hook point %2").arg(model_->text().trimmed(), hook);
  if (dataset_->currentText().trimmed().isEmpty()) return tr("Dataset: name a dataset");
  if (!readDouble(lr_, false, value)) return tr("Learning rate: a positive number");
  if (activation_->currentText() == QLatin1String(kRelu) && !readDouble(l1_, true, value))
    return tr("L1 coefficient: a number \u2265 0");
  return {};
}

void SaeRunForm::remember() const {
  const SaeRunSettings s = settings();
  QSettings q;
  q.beginGroup(QLatin1String(kSettingsGroup));
  q.setValue(QStringLiteral("model"), s.model);
  q.setValue(QStringLiteral("hook"), s.hook);
  q.setValue(QStringLiteral("dataset"), s.dataset);
  q.setValue(QStringLiteral("tokens"), s.tokens);
  q.setValue(QStringLiteral("activation"), s.activation);
  q.setValue(QStringLiteral("k"), s.k);
  q.setValue(QStringLiteral("l1"), s.l1);
  q.setValue(QStringLiteral("expansion"), s.expansion);
  q.setValue(QStringLiteral("d_sae"), s.dSae);
  q.setValue(QStringLiteral("lr"), s.lr);
  q.setValue(QStringLiteral("warmup"), s.warmup);
  q.setValue(QStringLiteral("max_steps"), s.maxSteps);
  q.setValue(QStringLiteral("batch"), s.batch);
  q.setValue(QStringLiteral("seed"), s.seed);
  q.setValue(QStringLiteral("log_every"), s.logEvery);
  q.setValue(QStringLiteral("eval_batches"), s.evalBatches);
  q.setValue(QStringLiteral("checkpoint_every"), s.checkpointEvery);
}

void SaeRunForm::restore() {
  QSettings q;
  q.beginGroup(QLatin1String(kSettingsGroup));
  if (!q.contains(QStringLiteral("model"))) {
    setModel(model_->text());
    return;
  }
  SaeRunSettings s;
  s.model = q.value(QStringLiteral("model"), s.model).toString();
  s.hook = q.value(QStringLiteral("hook"), s.hook).toString();
  s.dataset = q.value(QStringLiteral("dataset"), s.dataset).toString();
  s.tokens = q.value(QStringLiteral("tokens"), s.tokens).toString();
  s.activation = q.value(QStringLiteral("activation"), s.activation).toString();
  s.k = q.value(QStringLiteral("k"), s.k).toInt();
  s.l1 = q.value(QStringLiteral("l1"), s.l1).toDouble();
  s.expansion = q.value(QStringLiteral("expansion"), s.expansion).toInt();
  s.dSae = q.value(QStringLiteral("d_sae"), s.dSae).toInt();
  s.lr = q.value(QStringLiteral("lr"), s.lr).toDouble();
  s.warmup = q.value(QStringLiteral("warmup"), s.warmup).toInt();
  s.maxSteps = q.value(QStringLiteral("max_steps"), s.maxSteps).toInt();
  s.batch = q.value(QStringLiteral("batch"), s.batch).toInt();
  s.seed = q.value(QStringLiteral("seed"), s.seed).toInt();
  s.logEvery = q.value(QStringLiteral("log_every"), s.logEvery).toInt();
  s.evalBatches = q.value(QStringLiteral("eval_batches"), s.evalBatches).toInt();
  s.checkpointEvery = q.value(QStringLiteral("checkpoint_every"), s.checkpointEvery).toInt();
  setSettings(s);
}

}  // namespace prisma::app
