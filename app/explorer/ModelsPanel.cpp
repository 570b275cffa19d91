#include "app/explorer/ModelsPanel.h"

#include "model/io/ResourcePaths.h"
#include "model/train/Presets.h"

#include <QCheckBox>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QMap>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QVBoxLayout>

namespace prisma::app {

namespace {
constexpr int kMaxRecent = 10;
const char* const kSettingsRecent = "models/recent";
const char* const kSettingsProcessWeights = "models/processWeights";
// Small enough to read at a glance, and its task (same shape or not) is the seed's story.
const char* const kDefaultMouse = "induction-2L";
const char* const kCheckpointsFolder = "checkpoints";
const char* const kCheckpointPrefix = "step_";

// The dataset a bundled mouse learned (its preset.json's dataset.name), else its name up to
// the first '-' (the mice are named DATASET-…).
QString mouseDataset(const QString& folder) {
  const QString name = QString::fromStdString(train::presetDatasetOf(folder.toStdString()));
  return name.isEmpty() ? QFileInfo(folder).fileName().section('-', 0, 0) : name;
}

// "induction-1L-attn · step 7360" for RUN/checkpoints/step_00007360-samples_…, else the
// file or folder name.
QString displayName(const QString& path) {
  if (!isCheckpointPath(path)) return QFileInfo(path).fileName();
  const QFileInfo info(path);
  const QString run = QFileInfo(info.dir().absolutePath()).dir().dirName();
  static const QRegularExpression step(QStringLiteral("^step_0*(\\d+)"));
  const auto m = step.match(info.fileName());
  return QStringLiteral("%1 \u00b7 step %2").arg(run, m.hasMatch() ? m.captured(1) : info.fileName());
}

QString canonical(const QString& path) {
  const QString c = QFileInfo(path).canonicalFilePath();
  return c.isEmpty() ? QDir::cleanPath(path) : c;
}
}  // namespace

QStringList bundledModels() {
  // The model library's list, so this panel and `mouse:` names always agree on where the
  // mice are ($PRISMA_RESOURCES, the install, the source tree).
  QStringList out;
  for (const std::string& name : io::listMice()) out << QString::fromStdString(io::mouseDirectory(name));
  return out;
}

QString defaultBundledModel() {
  const QStringList bundled = bundledModels();
  for (const QString& path : bundled)
    if (QFileInfo(path).fileName() == QLatin1String(kDefaultMouse)) return path;
  return bundled.isEmpty() ? QString() : bundled.first();
}

bool isCheckpointPath(const QString& path) {
  const QFileInfo info(QDir::cleanPath(path));
  return info.fileName().startsWith(QLatin1String(kCheckpointPrefix)) &&
         info.dir().dirName() == QLatin1String(kCheckpointsFolder);
}

QString absoluteModelPath(const QString& path) {
  // An absolute path stays as it was given (the caller's spelling), a relative one is
  // resolved against the working folder.
  if (path.isEmpty() || path.startsWith('(') || QDir::isAbsolutePath(path) || !QFileInfo::exists(path)) return path;
  return QDir::cleanPath(QFileInfo(path).absoluteFilePath());
}

ModelsPanel::ModelsPanel(QWidget* parent) : QWidget(parent) {
  list_ = new QListWidget(this);
  list_->setObjectName(QStringLiteral("modelList"));
  list_->setToolTip(tr("Double-click a model, or select it and press Enter, to open it"));
  list_->setTextElideMode(Qt::ElideMiddle);
  summary_ = new QLabel(tr("No model loaded. Open a model folder or file (Ctrl+O), or drop one on the window."), this);
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  // Long model names must not widen the dock: the label wraps within whatever it is given.
  summary_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  hint_ = new QLabel(tr("Double-click or press Enter to open"), this);
  hint_->setObjectName(QStringLiteral("modelsHint"));
  hint_->setEnabled(false);  // drawn as secondary text
  hint_->setWordWrap(true);
  hint_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  auto* open = new QPushButton(tr("Open…"), this);
  processWeights_ = new QCheckBox(tr("Process weights on load"), this);
  processWeights_->setObjectName(QStringLiteral("processWeightsBox"));
  processWeights_->setToolTip(
      tr("Fold LayerNorm / centre writing weights / fold value biases, as TransformerLens and ViT-Prisma do: "
         "the same function, in weights that are easier to read. Models without pre-LN LayerNorm load unchanged."));
  processWeights_->setChecked(QSettings().value(kSettingsProcessWeights, false).toBool());
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(summary_);
  layout->addWidget(list_, 1);
  layout->addWidget(hint_);
  layout->addWidget(processWeights_);
  layout->addWidget(open);
  connect(processWeights_, &QCheckBox::toggled, this, [this](bool on) {
    QSettings().setValue(kSettingsProcessWeights, on);
    emit processWeightsChanged(on);
  });
  connect(open, &QPushButton::clicked, this, &ModelsPanel::openRequested);
  // Activation is Enter or a double-click (single-click activation where the style asks
  // for it); a header row carries no path and opens nothing.
  connect(list_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
    const QString path = item->data(Qt::UserRole).toString();
    if (!path.isEmpty()) emit modelChosen(path);
  });
  refreshList();
}

bool ModelsPanel::processWeights() const { return processWeights_->isChecked(); }

QStringList ModelsPanel::recentModels() const { return QSettings().value(kSettingsRecent).toStringList(); }

void ModelsPanel::setLoaded(const ModelSummary& s) {
  summary_->setText(tr("<b>%1</b><br>%2<br>%3<br>%4 classes").arg(s.name.toHtmlEscaped(), s.format, s.architecture).arg(s.classes));
  summary_->setToolTip(s.source + (s.notes.isEmpty() ? QString() : QStringLiteral("\n") + s.notes.join('\n')));
  if (s.source.startsWith('(')) {  // in-memory models are not files to reopen
    loaded_.clear();
    refreshList();
    return;
  }
  const QString source = absoluteModelPath(s.source);
  loaded_ = source;
  bool bundled = false;
  for (const QString& b : bundledModels()) bundled = bundled || canonical(b) == canonical(source);
  if (!bundled) {
    opened_.removeAll(source);
    opened_.prepend(source);
  }
  if (!bundled && !isCheckpointPath(source)) {
    QStringList recent = recentModels();
    recent.removeAll(source);
    recent.prepend(source);
    while (recent.size() > kMaxRecent) recent.removeLast();
    QSettings().setValue(kSettingsRecent, recent);
  }
  refreshList();
}

void ModelsPanel::refreshList() {
  list_->clear();
  const QString loaded = loaded_.isEmpty() ? QString() : canonical(loaded_);
  QListWidgetItem* current = nullptr;
  auto header = [this](const QString& text) {
    auto* item = new QListWidgetItem(text, list_);
    item->setFlags(Qt::NoItemFlags);  // a group title: not selectable, opens nothing
    QFont f = item->font();
    f.setBold(true);
    f.setPointSizeF(f.pointSizeF() * 0.9);
    item->setFont(f);
  };
  auto add = [&](const QString& path) {
    auto* item = new QListWidgetItem(QStringLiteral("  %1").arg(displayName(path)), list_);
    item->setData(Qt::UserRole, path);
    item->setToolTip(path);
    if (!loaded.isEmpty() && canonical(path) == loaded) {
      QFont f = item->font();
      f.setBold(true);
      item->setFont(f);
      item->setText(item->text() + tr("  (loaded)"));
      current = item;
    }
  };

  // Bundled mice by the dataset they learned, in the order the zoo lists them.
  QStringList datasets;
  QMap<QString, QStringList> byDataset;
  QStringList bundledCanonical;
  for (const QString& p : bundledModels()) {
    const QString d = mouseDataset(p);
    if (!byDataset.contains(d)) datasets << d;
    byDataset[d] << p;
    bundledCanonical << canonical(p);
  }
  for (const QString& d : datasets) {
    header(tr("Mice \u00b7 %1").arg(d));
    for (const QString& p : byDataset[d]) add(p);
  }
  QStringList seen;
  QStringList opened;
  for (const QString& p : opened_)
    if (QFileInfo::exists(p)) opened << p, seen << canonical(p);
  if (!opened.isEmpty()) {
    header(tr("Opened"));
    for (const QString& p : opened) add(p);
  }
  QStringList recent;
  for (const QString& p : recentModels()) {
    if (!QFileInfo::exists(p) || isCheckpointPath(p)) continue;
    const QString c = canonical(p);
    if (bundledCanonical.contains(c) || seen.contains(c)) continue;
    seen << c;
    recent << p;
  }
  if (!recent.isEmpty()) {
    header(tr("Recent"));
    for (const QString& p : recent) add(p);
  }
  if (current) {
    const QSignalBlocker block(list_);
    list_->setCurrentItem(current);
    list_->scrollToItem(current);
  }
}

}  // namespace prisma::app
