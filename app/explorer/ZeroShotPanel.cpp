#include "app/explorer/ZeroShotPanel.h"

#include "app/explorer/ClassListDialog.h"
#include "app/explorer/ExplorerController.h"
#include "app/explorer/jobs/ModelJobs.h"

#include <QAction>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>

namespace prisma::app {

namespace {
const char* const kSettingsClasses = "zeroShot/classes";
const char* const kSettingsTemplate = "zeroShot/template";
constexpr int kBarWidth = 90;
}  // namespace

ZeroShotPanel::ZeroShotPanel(ExplorerController* controller, QWidget* parent)
    : QWidget(parent), controller_(controller) {
  setObjectName(QStringLiteral("zeroShotPanel"));
  QSettings settings;
  classes_ = settings.value(kSettingsClasses).toStringList();
  template_ = settings.value(kSettingsTemplate, QString::fromLatin1(jobs::kDefaultZeroShotTemplate)).toString();

  status_ = new QLabel(this);
  status_->setObjectName(QStringLiteral("zeroShotStatus"));
  status_->setWordWrap(true);
  bar_ = new QProgressBar(this);
  bar_->setObjectName(QStringLiteral("zeroShotProgress"));
  bar_->setMaximumWidth(kBarWidth);
  cancel_ = new QPushButton(tr("Cancel"), this);
  cancel_->setObjectName(QStringLiteral("zeroShotCancel"));
  edit_ = new QPushButton(tr("Edit classes…"), this);
  edit_->setObjectName(QStringLiteral("editClassesButton"));
  editAction_ = new QAction(tr("Edit Zero-shot &Classes…"), this);
  editAction_->setObjectName(QStringLiteral("editClassesAction"));
  editAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L));
  editAction_->setToolTip(tr("The class prompts of the CLIP's zero-shot head (Ctrl+Shift+L)"));
  editAction_->setEnabled(false);
  edit_->setToolTip(editAction_->toolTip());
  connect(edit_, &QPushButton::clicked, this, &ZeroShotPanel::editClasses);
  connect(editAction_, &QAction::triggered, this, &ZeroShotPanel::editClasses);
  connect(cancel_, &QPushButton::clicked, this, &ZeroShotPanel::cancel);

  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(status_, 1);
  layout->addWidget(bar_);
  layout->addWidget(cancel_);
  layout->addWidget(edit_);
  bar_->hide();
  cancel_->hide();
  hide();  // until a CLIP loads

  connect(controller_, &ExplorerController::modelLoaded, this, &ZeroShotPanel::onModelLoaded);
}

void ZeroShotPanel::setClasses(const QStringList& classes, const QString& tmpl, bool remember) {
  classes_ = classes;
  template_ = tmpl;
  classFile_.clear();
  if (remember) {
    QSettings settings;
    settings.setValue(kSettingsClasses, classes_);
    settings.setValue(kSettingsTemplate, template_);
  }
  if (clipLoaded_ && !installed(loaded_)) post();
}

void ZeroShotPanel::setClassFile(const QString& path, const QString& tmpl) {
  classFile_ = path;
  if (!tmpl.isEmpty()) template_ = tmpl;
  if (clipLoaded_) post();
}

void ZeroShotPanel::editClasses() {
  if (!clipLoaded_) return;
  ClassListDialog dialog(this);
  dialog.setClasses(classes_);
  dialog.setTemplate(template_);
  if (dialog.exec() == QDialog::Accepted) setClasses(dialog.classes(), dialog.templateText());
}

void ZeroShotPanel::cancel() {
  if (!jobId_) return;
  controller_->cancel(jobId_);
  jobId_ = 0;
  classFile_.clear();
  if (hasInstalled_) {
    setClasses(installedClasses_, installedTemplate_);
    if (!jobId_) post();  // the list was the installed one already: still re-install it
    return;
  }
  showIdle();
  status_->setText(tr("Zero-shot head cancelled: the output is the image embedding."));
}

bool ZeroShotPanel::installed(const ModelSummary& s) const {
  if (!classFile_.isEmpty() || s.zeroShotClasses.isEmpty() || s.zeroShotTemplate != template_) return false;
  // An empty list asks for ImageNet-1k's head, whose 1,000 classes the summary lists.
  return classes_.isEmpty() ? s.zeroShotClasses.size() == jobs::kImageNetClassCount : s.zeroShotClasses == classes_;
}

void ZeroShotPanel::onModelLoaded(const ModelSummary& s) {
  if (jobId_) controller_->cancel(jobId_);  // its head was for the previous model
  jobId_ = 0;
  loaded_ = s;
  if (s.zeroShotClasses.isEmpty()) hasInstalled_ = false;  // a model as loaded
  clipLoaded_ = s.textTower;
  editAction_->setEnabled(clipLoaded_);
  setVisible(clipLoaded_);
  if (!clipLoaded_) return;
  if (installed(s)) {
    showIdle();
    return;
  }
  post();
}

void ZeroShotPanel::post() {
  if (jobId_) controller_->cancel(jobId_);
  jobs::ZeroShotRequest request;
  request.classes = classes_;
  request.classFile = classFile_;
  request.tmpl = template_;
  ModelJob<ModelSummary, jobs::ZeroShotProgress> job = jobs::installZeroShotHead(request);
  job.progress = [this](quint64 id, const jobs::ZeroShotProgress& p) {
    if (id != jobId_) return;
    bar_->setRange(0, p.total);
    bar_->setValue(p.done);
    status_->setText(tr("Building the zero-shot head: %1 / %2 prompts").arg(p.done).arg(p.total));
    emit progressed(p.done, p.total);
  };
  job.done = [this, request](quint64 id, const ModelSummary& s) {
    if (id != jobId_) return;
    jobId_ = 0;
    hasInstalled_ = true;
    installedClasses_ = request.classFile.isEmpty() ? request.classes : s.zeroShotClasses;
    installedTemplate_ = request.tmpl;
    // A class file's classes are now the list (what the dialog shows next).
    if (!classFile_.isEmpty()) {
      classes_ = s.zeroShotClasses;
      classFile_.clear();
    }
    // The logits changed: every tab starts over, as for a new model.
    emit controller_->modelLoaded(s);
  };
  job.failed = [this](quint64 id, const QString& message) {
    if (id != jobId_) return;
    jobId_ = 0;
    showIdle();
    status_->setText(tr("No zero-shot head: %1").arg(message));
    emit failed(message);
  };
  status_->setText(tr("Building the zero-shot head…"));
  bar_->setRange(0, 0);
  bar_->show();
  cancel_->show();
  jobId_ = controller_->post(this, std::move(job));
}

void ZeroShotPanel::showIdle() {
  bar_->hide();
  cancel_->hide();
  if (loaded_.zeroShotClasses.isEmpty()) {
    status_->setText(tr("No zero-shot head: the output is the image embedding."));
    return;
  }
  status_->setText(tr("Zero-shot: %1 classes, \u201c%2\u201d").arg(loaded_.zeroShotClasses.size()).arg(loaded_.zeroShotTemplate));
}

}  // namespace prisma::app
