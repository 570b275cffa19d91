#pragma once
// The Training tab's form for a sparse autoencoder run: the options of `prisma sae train`
// under the same names and defaults (SaeRunSettings). The hook list and the dataset follow
// the model: each model change asks for a probe (probeRequested; the training worker loads
// the model on its thread) and applyProbe fills them in -- once the form is in use
// (activate), so an explorer that never trains an SAE never loads a model for it. The fields are remembered
// (QSettings) between sessions.

#include "app/explorer/training/SaeRunSettings.h"

#include <QString>
#include <QWidget>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace prisma::app {

class SaeRunForm : public QWidget {
  Q_OBJECT

public:
  explicit SaeRunForm(QWidget* parent = nullptr);

  SaeRunSettings settings() const;
  void setSettings(const SaeRunSettings& settings);
  // A model (and, if not empty, the hook wanted on it), as a caller sets it: the dataset
  // follows the model again, the hook list is asked for.
  void setModel(const QString& source, const QString& hook = QString());
  // The explorer's current model: taken unless the user typed a model of their own.
  void offerModel(const QString& source);
  void applyProbe(const SaeModelProbe& probe);
  // The form is shown: from now on a model change is probed (the current one at once).
  void activate();

  bool valid() const { return problem().isEmpty(); }
  QString problem() const;  // why Start cannot run, in words; "" when it can
  bool probing() const { return !probing_.isEmpty(); }
  bool active() const { return active_; }

  void remember() const;  // QSettings
  void restore();

signals:
  void probeRequested(const QString& modelSource);
  void validityChanged();

private:
  QSpinBox* addSpin(const QString& name, const QString& label, int min, int max, int value);
  // A floating-point field (a line edit: spin boxes round to their decimals).
  QLineEdit* addNumber(const QString& name, const QString& label, double value, const QString& toolTip);
  void modelEdited();
  void updateActivation();

  QLineEdit* model_ = nullptr;
  QComboBox* hook_ = nullptr;
  QComboBox* dataset_ = nullptr;
  QComboBox* tokens_ = nullptr;
  QComboBox* activation_ = nullptr;
  QSpinBox* k_ = nullptr;
  QLineEdit* l1_ = nullptr;
  QSpinBox* expansion_ = nullptr;
  QSpinBox* dSae_ = nullptr;
  QLineEdit* lr_ = nullptr;
  QSpinBox* warmup_ = nullptr;
  QSpinBox* steps_ = nullptr;
  QSpinBox* batch_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QSpinBox* logEvery_ = nullptr;
  QSpinBox* evalBatches_ = nullptr;
  QSpinBox* checkpointEvery_ = nullptr;
  QLabel* probeLabel_ = nullptr;
  QFormLayout* layout_ = nullptr;

  QString probing_;     // the model a probe was asked for and has not answered
  QString probed_;      // the model hooks_ belong to
  QString defaultHook_; // the probed model's proposal
  QString wantedHook_;  // kept until the model's hook list arrives
  QString probeError_;
  QStringList hooks_;   // the probed model's
  bool active_ = false;
  bool modelTyped_ = false;    // the user typed the model: the explorer's no longer replaces it
  bool datasetTyped_ = false;  // the user chose the dataset: a probe no longer replaces it
};

}  // namespace prisma::app
