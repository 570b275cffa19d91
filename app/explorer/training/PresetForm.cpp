#include "app/explorer/training/PresetForm.h"

#include "model/Error.h"
#include "model/core/Json.h"
#include "model/train/Presets.h"

#include <QCheckBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QVBoxLayout>

namespace prisma::app {

namespace {

// The document's sections, in the form's order, with their titles.
struct Section {
  const char* key;
  const char* title;
};
const Section kSections[] = {
    {"model", "Architecture"},
    {"dataset", "Dataset"},
    {"optimization", "Optimisation"},
    {"logging", "Logging"},
    {"finetune", "Fine-tuning"},
};
const char* const kInvalidStyle = "background-color: #ffd6d6;";
const char* const kKindProperty = "prismaJsonKind";

// How an editor's text becomes JSON again: by the kind of value the preset held.
enum class Kind { Boolean, String, Json };

}  // namespace

PresetForm::PresetForm(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  description_ = new QLabel(this);
  description_->setWordWrap(true);
  layout->addWidget(description_);
  sections_ = new QVBoxLayout;
  layout->addLayout(sections_);
  errorLabel_ = new QLabel(this);
  errorLabel_->setObjectName(QStringLiteral("presetError"));
  errorLabel_->setWordWrap(true);
  errorLabel_->setStyleSheet(QStringLiteral("color: #b00000;"));
  layout->addWidget(errorLabel_);
  layout->addStretch(1);
}

bool PresetForm::loadPreset(const QString& nameOrPath, QString& error) {
  try {
    setDocument(train::loadPresetJson(nameOrPath.toStdString()), nameOrPath);
    return true;
  } catch (const std::exception& e) {
    error = QString::fromStdString(e.what());
    return false;
  }
}

void PresetForm::setDocument(const nlohmann::json& document, const QString& source) {
  document_ = document;
  source_ = source;
  build();
  revalidate();
}

QString PresetForm::presetName() const {
  return config_ ? QString::fromStdString(config_->name) : QString::fromStdString(document_.value("name", std::string()));
}

void PresetForm::build() {
  for (QWidget* e : editors_) e->disconnect(this);
  editors_.clear();
  while (QLayoutItem* item = sections_->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  description_->setText(QString::fromStdString(document_.value("description", std::string())));
  for (const Section& s : kSections) {
    if (!document_.contains(s.key) || !document_[s.key].is_object()) continue;
    auto* box = new QGroupBox(tr(s.title), this);
    box->setLayout(new QFormLayout);
    addFields(box, document_[s.key], s.key);
    sections_->addWidget(box);
  }
}

void PresetForm::addFields(QWidget* box, const nlohmann::json& object, const std::string& prefix) {
  auto* form = static_cast<QFormLayout*>(box->layout());
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string path = prefix + "." + it.key();
    const nlohmann::json& v = it.value();
    if (v.is_object()) {  // schedule, early_stopping: their fields under a dotted label
      addFields(box, v, path);
      continue;
    }
    QWidget* editor = nullptr;
    Kind kind = Kind::Json;
    if (v.is_boolean()) {
      auto* check = new QCheckBox(box);
      check->setChecked(v.get<bool>());
      connect(check, &QCheckBox::toggled, this, [this] { revalidate(); });
      editor = check;
      kind = Kind::Boolean;
    } else {
      auto* line = new QLineEdit(box);
      if (v.is_string()) {
        line->setText(QString::fromStdString(v.get<std::string>()));
        kind = Kind::String;
      } else {
        line->setText(QString::fromStdString(v.dump()));  // numbers, lists, null
      }
      connect(line, &QLineEdit::textChanged, this, [this] { revalidate(); });
      editor = line;
    }
    const QString qpath = QString::fromStdString(path);
    editor->setObjectName(qpath);
    editor->setProperty(kKindProperty, static_cast<int>(kind));
    editor->setToolTip(qpath);
    // Labels drop the section: "lr", "schedule.warmup_steps".
    form->addRow(qpath.section('.', 1), editor);
    editors_.insert(qpath, editor);
  }
}

bool PresetForm::setField(const QString& path, const QString& text) {
  QWidget* e = editors_.value(path);
  if (!e) return false;
  if (auto* check = qobject_cast<QCheckBox*>(e)) {
    check->setChecked(text == QLatin1String("true") || text == QLatin1String("1"));
  } else if (auto* line = qobject_cast<QLineEdit*>(e)) {
    line->setText(text);
  }
  return true;
}

std::optional<nlohmann::json> PresetForm::editedDocument(QString& badField, QString& message) const {
  nlohmann::json doc = document_;
  for (auto it = editors_.constBegin(); it != editors_.constEnd(); ++it) {
    const auto kind = static_cast<Kind>(it.value()->property(kKindProperty).toInt());
    std::string pointer = "/" + it.key().toStdString();
    for (char& c : pointer)
      if (c == '.') c = '/';
    nlohmann::json& slot = doc[nlohmann::json::json_pointer(pointer)];
    if (kind == Kind::Boolean) {
      slot = static_cast<QCheckBox*>(it.value())->isChecked();
      continue;
    }
    const QString text = static_cast<QLineEdit*>(it.value())->text();
    if (kind == Kind::String) {
      slot = text.toStdString();
      continue;
    }
    nlohmann::json parsed;
    try {
      parsed = parseJson(text.toStdString(), source_.toStdString() + ": " + it.key().toStdString());
    } catch (const Error&) {
      badField = it.key();
      message = tr("%1: '%2': not a number or JSON value").arg(source_, it.key());
      return std::nullopt;
    }
    slot = parsed;
  }
  return doc;
}

void PresetForm::revalidate() {
  const bool wasValid = config_.has_value();
  config_.reset();
  error_.clear();
  errorField_.clear();
  const std::string source = source_.toStdString();
  if (auto doc = editedDocument(errorField_, error_)) {
    try {
      train::TrainConfig c = train::trainConfigFromJson(*doc, source);
      c.validate(source);
      config_ = c;
    } catch (const Error& e) {
      error_ = QString::fromStdString(e.what());
      errorField_ = QString::fromStdString(e.field());
    } catch (const std::exception& e) {
      error_ = QString::fromStdString(e.what());
    }
  }
  for (auto it = editors_.constBegin(); it != editors_.constEnd(); ++it)
    it.value()->setStyleSheet(it.key() == errorField_ ? QString::fromLatin1(kInvalidStyle) : QString());
  errorLabel_->setText(error_);
  if (wasValid != config_.has_value()) emit validityChanged(config_.has_value());
}

}  // namespace prisma::app
