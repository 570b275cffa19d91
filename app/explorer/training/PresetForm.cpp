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

// "optimization.schedule.warmup_steps" as a person reads it: "Warmup steps (Optimisation,
// schedule)".
QString fieldInWords(const QString& path) {
  const QStringList parts = path.split(QLatin1Char('.'));
  QString name = parts.last();
  name.replace(QLatin1Char('_'), QLatin1Char(' '));
  if (!name.isEmpty()) name[0] = name[0].toUpper();
  QStringList where;
  for (const Section& s : kSections)
    if (parts.first() == QLatin1String(s.key)) where << PresetForm::tr(s.title);
  if (where.isEmpty()) where << parts.first();
  for (int i = 1; i + 1 < parts.size(); ++i) where << QString(parts[i]).replace(QLatin1Char('_'), QLatin1Char(' '));
  return parts.size() > 1 ? QStringLiteral("%1 (%2)").arg(name, where.join(QStringLiteral(", "))) : name;
}

// An Error's message without the "SOURCE: 'FIELD': " it starts with: the form names both.
QString bareMessage(const Error& e) {
  const std::string what = e.what();
  const std::string fieldPrefix = "'" + e.field() + "': ";
  const size_t at = e.field().empty() ? std::string::npos : what.find(fieldPrefix);
  if (at != std::string::npos) return QString::fromStdString(what.substr(at + fieldPrefix.size()));
  const std::string sourcePrefix = e.source() + ": ";
  if (!e.source().empty() && what.rfind(sourcePrefix, 0) == 0) return QString::fromStdString(what.substr(sourcePrefix.size()));
  return QString::fromStdString(what);
}

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
      message = tr("not a number or JSON value");
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
  problem_.clear();
  const std::string source = source_.toStdString();
  QString message;  // what is wrong, without the file and field
  if (auto doc = editedDocument(errorField_, message)) {
    try {
      train::TrainConfig c = train::trainConfigFromJson(*doc, source);
      c.validate(source);
      config_ = c;
    } catch (const Error& e) {
      error_ = QString::fromStdString(e.what());
      errorField_ = QString::fromStdString(e.field());
      message = bareMessage(e);
    } catch (const std::exception& e) {
      error_ = message = QString::fromStdString(e.what());
    }
  } else {
    error_ = QStringLiteral("%1: '%2': %3").arg(source_, errorField_, message);
  }
  if (!config_) problem_ = errorField_.isEmpty() ? message : QStringLiteral("%1: %2").arg(fieldInWords(errorField_), message);
  for (auto it = editors_.constBegin(); it != editors_.constEnd(); ++it) {
    const bool bad = it.key() == errorField_;
    it.value()->setStyleSheet(bad ? QString::fromLatin1(kInvalidStyle) : QString());
    it.value()->setToolTip(bad ? problem_ : it.key());
  }
  errorLabel_->setText(error_);
  if (wasValid != config_.has_value()) emit validityChanged(config_.has_value());
}

}  // namespace prisma::app
