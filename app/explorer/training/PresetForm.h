#pragma once
// A training preset as a form: one editor per field of the document (architecture,
// dataset, optimisation, logging, fine-tuning), built from the preset's JSON so every
// field the trainer knows is editable and none is forgotten. Each edit re-reads the whole
// document with the trainer's own strict reader and TrainConfig::validate(), so the form
// flags exactly what the trainer would refuse: the field a prisma::Error names is marked
// and its message shown, before anything starts.

#include "model/train/TrainConfig.h"

#include <nlohmann/json.hpp>

#include <QMap>
#include <QString>
#include <QWidget>

#include <optional>

class QLabel;
class QVBoxLayout;

namespace prisma::app {

class PresetForm : public QWidget {
  Q_OBJECT

public:
  explicit PresetForm(QWidget* parent = nullptr);

  // A preset name or a preset / preset.json file; false with `error` set when unreadable.
  bool loadPreset(const QString& nameOrPath, QString& error);
  void setDocument(const nlohmann::json& document, const QString& source);

  // The edited document as a config; nullopt while a field is invalid.
  std::optional<train::TrainConfig> config() const { return config_; }
  bool valid() const { return config_.has_value(); }
  QString error() const { return error_; }        // the trainer's message, "" when valid
  QString errorField() const { return errorField_; }  // its dotted field, e.g. "optimization.lr"
  // The error in words for a person: the field as its label and section read, and what is
  // wrong ("Patch size (Architecture): ..."); "" when valid.
  QString problem() const { return problem_; }
  QString presetName() const;

  // Sets a field as a user typing into it would ("optimization.max_steps", "300");
  // false when the form has no such field.
  bool setField(const QString& path, const QString& text);
  QWidget* editor(const QString& path) const { return editors_.value(path); }
  QStringList fields() const { return editors_.keys(); }

signals:
  void validityChanged(bool valid);

private:
  void build();
  void addFields(QWidget* box, const nlohmann::json& object, const std::string& prefix);
  void revalidate();
  std::optional<nlohmann::json> editedDocument(QString& badField, QString& message) const;

  nlohmann::json document_;
  QString source_;
  QMap<QString, QWidget*> editors_;  // dotted path -> editor
  QVBoxLayout* sections_ = nullptr;
  QLabel* description_ = nullptr;
  QLabel* errorLabel_ = nullptr;
  std::optional<train::TrainConfig> config_;
  QString error_, errorField_, problem_;
};

}  // namespace prisma::app
