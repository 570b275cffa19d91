// The Features tab driven as a user would (offscreen), against the engine. A small SAE is
// built at test time on the bundled 2-layer Induction mouse (random ReLU SAE on
// blocks.1.hook_resid_post, every token), with a feature database over part of the
// Induction test split. An Images-panel item is dropped on the tab; then what the tab shows
// -- the features active at a hovered patch, a clicked feature's heatmap, its top images,
// and the prediction with the feature ablated or scaled -- is compared with the same
// numbers computed directly through model/sae. Then a feature database is built from the
// tab (its dialog, progress, Cancel, where it is written) and compared with what the
// library builds, "Train one..." is checked to name the model and hook, and the tab is
// checked to fit the room a 1024 x 700 window leaves it.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "Tolerances.h"
#include "datasets/DatasetRegistry.h"
#include "model/io/ModelLoader.h"
#include "model/sae/FeatureDatabase.h"
#include "model/sae/SaeFiles.h"
#include "model/sae/SaeSplice.h"
#include "model/train/TrainingData.h"

#include <torch/torch.h>

#include "app/explorer/DatasetThumbnailModel.h"
#include "app/explorer/ExplorerController.h"
#include "app/explorer/features/FeaturesView.h"
#include "app/explorer/jobs/FeatureJobs.h"
#include "app/explorer/jobs/JobSupport.h"
#include "app/gui/LaunchOptions.h"
#include "widgets/HeatmapView.h"
#include "widgets/TopKBars.h"

#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDirIterator>
#include <QListWidget>
#include <QMenu>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QToolButton>
#include <QTreeWidget>
#include <QtTest>

#include <cmath>
#include <memory>

using namespace prisma;
using prisma::app::FeaturesView;

namespace {
constexpr int kWaitMs = 60000;
constexpr int kQuietMs = 300;  // how long a cancelled job must stay silent
constexpr int kViewWidth = 1200, kViewHeight = 800;
constexpr double kTol = prisma::test::kEngineTolerance;
const char* const kMouse = "mouse:induction-2L";
const char* const kHook = "blocks.1.hook_resid_post";
const char* const kDataset = "induction";
constexpr int kDSae = 48;
constexpr int kDatabaseImages = 48;
constexpr int kDatabaseTopK = 6;
constexpr int kDroppedRow = 3;
constexpr uint64_t kSeed = 7;
constexpr int kTop = 5;
// The Features tab's room in a 1024 x 700 window on a first start (docks in the left
// column, tests/app/tst_explorer_window.cpp): about 740 x 610 px.
constexpr int kTabWidthAt1024 = 740, kTabHeightAt700 = 610;
constexpr int kBuildImages = 40;  // a slice of the split: a build of a few seconds at most
constexpr int kBuildTopK = 8;
constexpr int kCancelBatch = 2;  // images per batch of the build that is cancelled: many batches

// Every file and folder under `dir`, hidden ones included, relative to it.
QStringList filesUnder(const QString& dir) {
  QStringList out;
  QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
  while (it.hasNext()) out << QDir(dir).relativeFilePath(it.next());
  out.sort();
  return out;
}

bool close(double a, double b) { return std::abs(a - b) <= kTol * std::max(1.0, std::abs(b)); }

// A random ReLU SAE whose features fire on about half the tokens.
sae::SparseAutoencoder randomSae(int64_t d_in) {
  sae::SaeConfig c;
  c.d_in = d_in;
  c.d_sae = kDSae;
  c.hook_name = kHook;
  c.model_name = kMouse;
  c.tokens = sae::TokenSelection::All;
  sae::SparseAutoencoder s(c);
  torch::manual_seed(kSeed);
  torch::NoGradGuard no_grad;
  s->W_enc.copy_(torch::randn({d_in, int64_t(kDSae)}) / std::sqrt(double(d_in)));
  s->b_enc.copy_(torch::randn({int64_t(kDSae)}) * 0.1);
  s->W_dec.copy_(torch::randn({int64_t(kDSae), d_in}));
  s->normalizeDecoderRows();
  s->b_dec.copy_(torch::randn({d_in}) * 0.1);
  return s;
}

// The database of an SAE with only the first `features` of these: consistent in itself,
// the wrong width for the SAE.
sae::FeatureDatabase firstFeatures(const sae::FeatureDatabase& db, int64_t features) {
  sae::FeatureDatabase out = db;
  for (torch::Tensor* t : {&out.top_values, &out.top_images, &out.top_token_acts, &out.density, &out.mean_when_firing,
                           &out.histogram, &out.class_counts})
    *t = t->narrow(0, 0, features).contiguous();
  return out;
}

void dropOn(QWidget* target, QMimeData* mime) {
  const QPoint at = target->rect().center();
  QDragEnterEvent enter(at, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(target, &enter);
  QVERIFY(enter.isAccepted());
  QDropEvent drop(QPointF(at), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(target, &drop);
  QVERIFY(drop.isAccepted());
}
}  // namespace

class TestFeaturesView : public QObject {
  Q_OBJECT

private:
  QTemporaryDir dir_;
  QString saeDir_;
  io::LoadedModel model_;
  sae::SparseAutoencoder sae_{nullptr};
  sae::FeatureDatabase db_;
  std::unique_ptr<app::ExplorerController> controller_;
  std::unique_ptr<FeaturesView> view_;
  app::ModelSummary summary_;
  app::ImageRequest dropped_;
  torch::Tensor input_;  // [1, C, H, W] the dropped image as the model sees it
  torch::Tensor acts_;   // [tokens, d_sae] the engine's encoding of it

  // Waits until nothing the tab posted is pending.
  bool settle() {
    if (!view_->busy()) return true;
    QSignalSpy settled(view_.get(), &FeaturesView::settled);
    return settled.wait(kWaitMs);
  }

  // The prediction lists' length: five classes, or all of them when the model has fewer.
  int top() const { return std::min(kTop, model_.model->cfg().n_classes); }

  int tokenOf(int row, int col) const {
    const ViTConfig& c = model_.model->cfg();
    return int(c.n_prefix()) + row * c.grid_size() + col;
  }

  // The engine's prediction (softmax top 5) with the SAE spliced in and `feature` scaled.
  QVector<widgets::ClassScore> engineEdited(int feature, double scale) {
    torch::NoGradGuard no_grad;
    sae::SpliceOptions o;
    o.add_error = true;
    o.edit_features = [&](torch::Tensor& acts) { acts.select(1, feature).mul_(scale); };
    const sae::SaeSplice splice(*model_.model, sae_, o);
    const torch::Tensor probs = torch::softmax(model_.model->forward(input_)[0].to(torch::kFloat64), -1);
    const auto [values, indices] = probs.topk(top());
    const QStringList names = app::jobs::classNamesOf(model_.model->cfg());
    QVector<widgets::ClassScore> out;
    for (int i = 0; i < top(); ++i) out.push_back({names.value(indices[i].item<int>()), values[i].item<double>()});
    return out;
  }

  // Opens the build dialog with the button, sets the slice, and accepts it.
  void buildFromDialog(int limit, int topK) {
    QTest::mouseClick(view_->buildButton(), Qt::LeftButton);
    QDialog* dialog = view_->buildDialog();
    QVERIFY(dialog && dialog->isVisible());
    auto* dataset = dialog->findChild<QComboBox*>(QStringLiteral("buildDataset"));
    auto* split = dialog->findChild<QComboBox*>(QStringLiteral("buildSplit"));
    auto* top = dialog->findChild<QSpinBox*>(QStringLiteral("buildTopK"));
    auto* images = dialog->findChild<QSpinBox*>(QStringLiteral("buildLimit"));
    QVERIFY(dataset && split && top && images);
    // The defaults: the database's dataset (else the image's), the test split.
    QCOMPARE(dataset->currentText(), QString::fromLatin1(kDataset));
    QCOMPARE(split->currentText(), QStringLiteral("test"));
    top->setValue(topK);
    images->setValue(limit);
    auto* buttons = dialog->findChild<QDialogButtonBox*>();
    QVERIFY(buttons);
    QTest::mouseClick(buttons->button(QDialogButtonBox::Ok), Qt::LeftButton);
    QVERIFY(!dialog->isVisible());
    QVERIFY(view_->building());
  }

  // The database the library builds over the same slice of the test split.
  sae::FeatureDatabase libraryDatabase(const sae::SparseAutoencoder& sae, int limit, int topK) {
    std::shared_ptr<const datasets::Dataset> dataset = datasets::makeDataset(kDataset);
    train::TrainingDataOptions topt;
    topt.n_classes = std::max<int>(1, int(dataset->classNames().size()));
    const train::TrainingData data(dataset, model_.preprocess, topt);
    sae::FeatureDatabaseOptions o;
    o.limit = size_t(limit);
    o.top_k = topK;
    return sae::buildFeatureDatabase(*model_.model, sae, data, o);
  }

private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("PrismaFeaturesTest"));
    QSettings().clear();
    QVERIFY(dir_.isValid());
    model_ = io::loadModel(kMouse);
    sae_ = randomSae(model_.model->cfg().d_model);
    saeDir_ = dir_.filePath(QStringLiteral("sae"));
    sae::saveSae(*sae_, saeDir_.toStdString());

    // The database as `prisma sae features` writes it, in the SAE's folder.
    std::shared_ptr<const datasets::Dataset> dataset = datasets::makeDataset(kDataset);
    train::TrainingDataOptions topt;
    topt.n_classes = std::max<int>(1, int(dataset->classNames().size()));
    const train::TrainingData data(dataset, model_.preprocess, topt);
    sae::FeatureDatabaseOptions o;
    o.limit = kDatabaseImages;
    o.top_k = kDatabaseTopK;
    {
      torch::NoGradGuard no_grad;
      db_ = sae::buildFeatureDatabase(*model_.model, sae_, data, o);
    }
    sae::saveFeatureDatabase(db_, (saeDir_ + QStringLiteral("/features")).toStdString(),
                             {{"sae", saeDir_.toStdString()}, {"hook", kHook}, {"dataset", dataset->name()}, {"split", "test"}});

    controller_ = std::make_unique<app::ExplorerController>();
    view_ = std::make_unique<FeaturesView>(controller_.get());
    view_->resize(kViewWidth, kViewHeight);
    view_->show();
    QVERIFY(QTest::qWaitForWindowExposed(view_.get()));
  }

  void cleanupTestCase() {
    view_.reset();
    controller_.reset();
    QDir(FeaturesView::userDatabaseRoot()).removeRecursively();
    QDir().rmpath(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation));  // only what is empty
  }

  void placeholdersSayWhatToDo() {
    QVERIFY(view_->placeholderText().contains(QStringLiteral("Open a model")));
    QSignalSpy loaded(controller_.get(), &app::ExplorerController::modelLoaded);
    controller_->loadModel(QString::fromLatin1(kMouse));
    QVERIFY(loaded.wait(kWaitMs));
    summary_ = qvariant_cast<app::ModelSummary>(loaded.first().first());
    // Our SAE rather than the one a mouse may have bundled.
    view_->setSaeOverride(saeDir_);
    QSignalSpy opened(view_.get(), &FeaturesView::saeOpened);
    view_->setModel(summary_);
    QVERIFY(opened.wait(kWaitMs));
    QVERIFY(view_->hasSae());
    QCOMPARE(view_->sae().dSae, kDSae);
    QCOMPARE(view_->sae().hook, QString::fromLatin1(kHook));
    // The database was found beside the SAE.
    QVERIFY(view_->sae().hasDatabase());
    QCOMPARE(view_->sae().databaseImages, kDatabaseImages);
    QVERIFY(settle());
    QVERIFY(view_->placeholderText().contains(QStringLiteral("Pick an image")));
    QCOMPARE(FeaturesView::recentSaes().value(0), view_->sae().source);
  }

  void bundledSaeLookup() {
    // A model that is no bundled mouse has no bundled SAE.
    QVERIFY(app::jobs::bundledSaeFor(dir_.path()).sae.isEmpty());
    QCOMPARE(app::jobs::databaseBeside(saeDir_), saeDir_ + QStringLiteral("/features"));
  }

  void droppedImageIsInspected() {
    app::DatasetThumbnailModel items;
    items.setDataset(datasets::makeDataset(kDataset), datasets::Split::Test);
    std::unique_ptr<QMimeData> mime(items.mimeData({items.index(kDroppedRow)}));
    QVERIFY(mime);
    QSignalSpy droppedSpy(view_.get(), &FeaturesView::imageDropped);
    QSignalSpy encoded(view_.get(), &FeaturesView::imageEncoded);
    dropOn(view_.get(), mime.get());
    QCOMPARE(droppedSpy.count(), 1);
    QVERIFY(encoded.wait(kWaitMs));
    QVERIFY(settle());
    dropped_ = qvariant_cast<app::ImageRequest>(droppedSpy.first().first());
    QCOMPARE(dropped_.title, QStringLiteral("induction/test/%1").arg(kDroppedRow));
    QCOMPARE(view_->encoding().title, dropped_.title);
    QVERIFY(view_->placeholderText().isEmpty());
    QVERIFY(!view_->heatmapView()->heat().isEmpty());

    // The engine's encoding of the same input.
    input_ = app::jobs::inputFor(dropped_, model_);
    torch::NoGradGuard no_grad;
    auto run = model_.model->run_with_cache(input_, filters::exact({kHook}));
    acts_ = sae_->encode(sae::activationRows(run.cache[kHook], sae_->cfg().d_in)).contiguous();  // [tokens, d_sae]
    QCOMPARE(view_->encoding().tokens, int(acts_.size(0)));
    QCOMPARE(view_->encoding().dSae, kDSae);
  }

  void activeFeaturesAtPatchAreTheEngines_data() {
    QTest::addColumn<int>("row");
    QTest::addColumn<int>("col");
    const int g = model_.model->cfg().grid_size();
    QTest::newRow("top left") << 0 << 0;
    QTest::newRow("middle") << g / 2 << g / 2 - 1;
    QTest::newRow("bottom right") << g - 1 << g - 1;
  }

  void activeFeaturesAtPatchAreTheEngines() {
    QFETCH(int, row);
    QFETCH(int, col);
    widgets::HeatmapView* heat = view_->heatmapView();
    QTest::mouseMove(heat, heat->patchRect(row, col).center());
    QVERIFY(view_->listedPatch().has_value());
    QCOMPARE(*view_->listedPatch(), QPoint(col, row));

    const torch::Tensor at = acts_[tokenOf(row, col)];  // [d_sae]
    const auto [values, order] = at.sort(0, /*descending=*/true);
    const int active = int((at > 0).sum().item<int64_t>());
    QVERIFY2(active > 0, "the random SAE should fire somewhere at every patch");
    const auto& listed = view_->listedFeatures();
    QCOMPARE(listed.size(), active);
    QCOMPARE(view_->featureList()->topLevelItemCount(), active);
    for (int i = 0; i < active; ++i) {
      QCOMPARE(listed[i].feature, int(order[i].item<int64_t>()));
      QVERIFY2(close(listed[i].activation, values[i].item<double>()), qPrintable(QStringLiteral("rank %1").arg(i)));
      // The density column is the database's.
      const QString shown = view_->featureList()->topLevelItem(i)->text(2);
      const double density = db_.density[listed[i].feature].item<double>();
      QCOMPARE(shown, QStringLiteral("%1 %").arg(100.0 * density, 0, 'g', 3));
    }
  }

  void clickedFeatureHeatmapIsTheEngines() {
    // Pin a patch, then click its second-strongest feature in the list.
    widgets::HeatmapView* heat = view_->heatmapView();
    QTest::mouseClick(heat, Qt::LeftButton, {}, heat->patchRect(1, 1).center());
    QTest::mouseMove(heat, heat->patchRect(0, 0).center());
    QCOMPARE(*view_->listedPatch(), QPoint(1, 1));  // pinned wins over the mouse
    QVERIFY(view_->featureList()->topLevelItemCount() >= 2);
    QTreeWidgetItem* item = view_->featureList()->topLevelItem(1);
    const int feature = item->data(0, Qt::UserRole).toInt();
    QSignalSpy details(view_.get(), &FeaturesView::detailsReady);
    QSignalSpy edited(view_.get(), &FeaturesView::editReady);
    QTest::mouseClick(view_->featureList()->viewport(), Qt::LeftButton, {},
                      view_->featureList()->visualItemRect(item).center());
    QCOMPARE(view_->selectedFeature(), feature);
    QVERIFY(settle());
    QCOMPARE(details.count(), 1);
    QCOMPARE(edited.count(), 1);

    const ViTConfig& c = model_.model->cfg();
    const widgets::PatchGridValues& shown = heat->heat();
    QCOMPARE(shown.rows, c.grid_size());
    QCOMPARE(shown.cols, c.grid_size());
    for (int r = 0; r < shown.rows; ++r)
      for (int col = 0; col < shown.cols; ++col)
        QVERIFY2(close(shown.at(r, col), acts_[tokenOf(r, col)][feature].item<double>()),
                 qPrintable(QStringLiteral("patch %1,%2").arg(r).arg(col)));
  }

  void topImagesAreTheDatabases() {
    const int f = view_->selectedFeature();
    const app::FeatureDetails& d = view_->details();
    QCOMPARE(d.feature, f);
    QVERIFY(d.hasDatabase);
    QVERIFY(close(d.density, db_.density[f].item<double>()));
    QCOMPARE(d.histogramCounts.size(), int(db_.histogram.size(1)));
    for (int b = 0; b < d.histogramCounts.size(); ++b) QCOMPARE(d.histogramCounts[b], double(db_.histogram[f][b].item<int64_t>()));
    int expected = 0;
    while (expected < kDatabaseTopK && db_.top_images[f][expected].item<int64_t>() >= 0) ++expected;
    QVERIFY(expected > 0);
    QCOMPARE(d.top.size(), expected);
    QCOMPARE(view_->topImagesList()->count(), expected);
    const int first = int(model_.model->cfg().n_prefix());
    for (int i = 0; i < expected; ++i) {
      QCOMPARE(d.top[i].position, int(db_.top_images[f][i].item<int64_t>()));
      QVERIFY(close(d.top[i].value, db_.top_values[f][i].item<double>()));
      QVERIFY2(!d.top[i].image.isNull(), qPrintable(d.note));
      QCOMPARE(view_->topImagesList()->item(i)->data(Qt::UserRole).toInt(), d.top[i].position);
      for (int p = 0; p < d.top[i].heat.values.size(); ++p)
        QVERIFY(close(d.top[i].heat.values[p], db_.top_token_acts[f][i][first + p].item<double>()));
    }
    QVERIFY(!d.top[0].heat.isEmpty());
  }

  void editedPredictionIsTheEngines_data() {
    QTest::addColumn<double>("scale");
    QTest::newRow("ablated") << 0.0;
    QTest::newRow("scaled x4") << 4.0;
    QTest::newRow("negated") << -2.0;
  }

  void editedPredictionIsTheEngines() {
    QFETCH(double, scale);
    const int f = view_->selectedFeature();
    QSignalSpy edited(view_.get(), &FeaturesView::editReady);
    view_->setScale(scale);
    QVERIFY(edited.wait(kWaitMs));
    const app::FeatureEditResult& r = view_->editResult();
    QCOMPARE(r.feature, f);
    QCOMPARE(r.scale, scale);
    const QVector<widgets::ClassScore> expected = engineEdited(f, scale);
    QCOMPARE(r.edited.size(), top());
    for (int i = 0; i < top(); ++i) {
      QCOMPARE(r.edited[i].name, expected[i].name);
      QVERIFY2(close(r.edited[i].probability, expected[i].probability), qPrintable(QStringLiteral("rank %1").arg(i)));
    }
    // What the bars draw is that result.
    QCOMPARE(view_->editedBars()->scores().size(), top());
    QCOMPARE(view_->editedBars()->scores()[0].name, r.edited[0].name);
    QCOMPARE(view_->cleanBars()->scores()[0].name, r.clean[0].name);
  }

  void unitScaleChangesNothing() {
    // The error term is added back, so a feature times 1 leaves the model's output as it was.
    QSignalSpy edited(view_.get(), &FeaturesView::editReady);
    view_->setScale(1.0);
    QVERIFY(edited.wait(kWaitMs));
    const app::FeatureEditResult& r = view_->editResult();
    QCOMPARE(r.edited.size(), top());
    for (int i = 0; i < top(); ++i) {
      QCOMPARE(r.edited[i].name, r.clean[i].name);
      QVERIFY(std::abs(r.edited[i].probability - r.clean[i].probability) < prisma::test::kExactTolerance);
    }
  }

  void modelChangeResetsTheTab() {
    QVERIFY(settle());
    QVERIFY(view_->encoding().isValid());
    QSignalSpy opened(view_.get(), &FeaturesView::saeOpened);
    view_->setModel(summary_);
    // Nothing of the previous model survives, even for a moment.
    QVERIFY(!view_->encoding().isValid());
    QVERIFY(view_->listedFeatures().isEmpty());
    QVERIFY(view_->heatmapView()->heat().isEmpty());
    QVERIFY(view_->editedBars()->scores().isEmpty());
    QCOMPARE(view_->topImagesList()->count(), 0);
    QVERIFY(opened.wait(kWaitMs));
    QVERIFY(settle());
    // The image is kept and encoded again with the reopened SAE.
    QCOMPARE(view_->encoding().title, dropped_.title);
    QVERIFY(close(view_->encoding().at(tokenOf(0, 0), 0), acts_[tokenOf(0, 0)][0].item<double>()));
  }

  void cancelDropsWhatWasPending() {
    // Cancelled before the GUI thread hears of the result: nothing of it may arrive.
    QSignalSpy encoded(view_.get(), &FeaturesView::imageEncoded);
    view_->setImage(dropped_);
    QVERIFY(view_->busy());
    QVERIFY(view_->cancelButton()->isVisibleTo(view_.get()));
    QTest::mouseClick(view_->cancelButton(), Qt::LeftButton);
    QVERIFY(!view_->busy());
    QVERIFY(!view_->cancelButton()->isVisibleTo(view_.get()));
    QTest::qWait(kQuietMs);
    QCOMPARE(encoded.count(), 0);
    QVERIFY(!view_->encoding().isValid());
    QVERIFY(view_->placeholderText().contains(QStringLiteral("not encoded")));
    // The next image runs as usual.
    view_->setImage(dropped_);
    QVERIFY(encoded.wait(kWaitMs));
    QVERIFY(settle());
  }

  void hostileDatabaseIsRefusedByName() {
    // A database of another SAE (a different width) is refused, naming the file and field.
    QTemporaryDir other;
    const sae::FeatureDatabase small = firstFeatures(db_, kDSae / 2);
    sae::saveFeatureDatabase(small, other.path().toStdString(), {{"hook", kHook}, {"dataset", kDataset}});
    QSignalSpy failed(view_.get(), &FeaturesView::failed);
    view_->openSae(saeDir_, other.path());
    QVERIFY(failed.wait(kWaitMs));
    const QString message = failed.first().first().toString();
    QVERIFY2(message.contains(other.path()) && message.contains(QStringLiteral("density")), qPrintable(message));
    QVERIFY(!view_->hasSae());
  }

  void unfittingDatabaseBesideIsIgnoredWithANote() {
    // A database merely found beside an SAE is a guess: when it does not fit, the SAE opens
    // without it and says why.
    QTemporaryDir parent;
    const QString sae = parent.filePath(QStringLiteral("sae")), db = parent.filePath(QStringLiteral("db"));
    sae::saveSae(*sae_, sae.toStdString());
    const sae::FeatureDatabase small = firstFeatures(db_, kDSae / 2);
    sae::saveFeatureDatabase(small, db.toStdString(), {{"hook", kHook}, {"dataset", kDataset}});
    QCOMPARE(app::jobs::databaseBeside(sae), db);
    QSignalSpy opened(view_.get(), &FeaturesView::saeOpened);
    view_->openSae(sae);
    QVERIFY(opened.wait(kWaitMs));
    QVERIFY(view_->hasSae());
    QVERIFY(!view_->sae().hasDatabase());
    QVERIFY2(view_->message().contains(QStringLiteral("density")), qPrintable(view_->sae().notes.join('\n')));
  }

  void launchOptionsNameTheTab() {
    QString error;
    const auto o = app::parseLaunchOptions({QStringLiteral("prisma-explorer"), QStringLiteral("--view"), QStringLiteral("features"),
                                            QStringLiteral("--sae"), saeDir_, QStringLiteral("--feature"), QStringLiteral("7"),
                                            QStringLiteral("--query"), QStringLiteral("1,3")},
                                           error);
    QVERIFY2(o, qPrintable(error));
    QCOMPARE(o->view, QStringLiteral("features"));
    QCOMPARE(o->sae, saeDir_);
    QCOMPARE(o->feature, 7);
    QCOMPARE(*o->query, QPoint(3, 1));  // (col, row)
    QVERIFY(!app::parseLaunchOptions({QStringLiteral("prisma-explorer"), QStringLiteral("--feature"), QStringLiteral("-1")}, error));
  }

  // "Train one...": the Training tab gets the model and the hook (the open SAE's on a click,
  // another from the arrow's menu).
  void trainOneCarriesModelAndHook() {
    QVERIFY(settle());
    QVERIFY(view_->hasSae());
    QSignalSpy asked(view_.get(), &FeaturesView::trainSaeRequested);
    QToolButton* train = view_->trainButton();
    QVERIFY(train->isEnabled());
    QTest::mouseClick(train, Qt::LeftButton, {}, QPoint(train->height() / 2, train->height() / 2));
    QCOMPARE(asked.count(), 1);
    QCOMPARE(asked.first().at(0).toString(), summary_.source);
    QCOMPARE(asked.first().at(1).toString(), QString::fromLatin1(kHook));
    // The menu lists the model's residual hooks.
    QTRY_VERIFY(!train->menu()->actions().isEmpty());
    QAction* other = nullptr;
    for (QAction* a : train->menu()->actions())
      if (a->data().toString() == QStringLiteral("blocks.0.hook_resid_pre")) other = a;
    QVERIFY(other);
    other->trigger();
    QCOMPARE(asked.count(), 2);
    QCOMPARE(asked.last().at(0).toString(), summary_.source);
    QCOMPARE(asked.last().at(1).toString(), QStringLiteral("blocks.0.hook_resid_pre"));
  }

  // Issue 19 item 6: in the room a 1024 x 700 window leaves it, the tab does not scroll
  // sideways (MainWindow puts each tab in a scroll area like this one).
  void fitsTheTabOfA1024x700Window() {
    QVERIFY(settle());
    QScrollArea area;
    area.setFrameShape(QFrame::NoFrame);
    area.setWidgetResizable(true);
    area.setWidget(view_.get());
    area.resize(kTabWidthAt1024, kTabHeightAt700);
    area.show();
    QVERIFY(QTest::qWaitForWindowExposed(&area));
    const int minWidth = view_->minimumSizeHint().width();
    const int sideways = area.horizontalScrollBar()->maximum();
    const int down = area.verticalScrollBar()->maximum();
    // Back to a window of its own for the tests after this one.
    area.takeWidget();
    view_->setParent(nullptr);
    view_->resize(kViewWidth, kViewHeight);
    view_->show();
    QVERIFY(QTest::qWaitForWindowExposed(view_.get()));
    QVERIFY2(minWidth <= kTabWidthAt1024, qPrintable(QStringLiteral("minimum width %1").arg(minWidth)));
    QCOMPARE(sideways, 0);
    // Nor vertically: the tab is sized by its minimum height, not its preferred one (a
    // height-for-width layout made the scroll area ask for ~900 px).
    QCOMPARE(down, 0);
  }

  // An SAE in a folder that can be written gets its database there, beside nothing else.
  void buildsIntoTheSaesOwnFolder() {
    QSignalSpy opened(view_.get(), &FeaturesView::saeOpened);
    view_->openSae(saeDir_);
    QVERIFY(opened.wait(kWaitMs));
    QVERIFY(settle());
    QSignalSpy built(view_.get(), &FeaturesView::databaseBuilt);
    QSignalSpy ended(view_.get(), &FeaturesView::databaseBuildEnded);
    buildFromDialog(kBuildImages, kBuildTopK);
    if (QTest::currentTestFailed()) return;
    QVERIFY(ended.wait(kWaitMs));
    QCOMPARE(built.count(), 1);
    const QString folder = built.first().first().toString();
    QCOMPARE(folder, QDir(saeDir_).filePath(QStringLiteral("features-induction-test")));
    QCOMPARE(view_->buildProgress()->value(), kBuildImages);
    QCOMPARE(view_->buildProgress()->maximum(), kBuildImages);
    const sae::FeatureDatabase db = sae::loadFeatureDatabase(folder.toStdString());
    QCOMPARE(db.images, int64_t(kBuildImages));
    const sae::FeatureDatabase expected = libraryDatabase(sae_, kBuildImages, kBuildTopK);
    QVERIFY(torch::allclose(db.top_values, expected.top_values, kTol, kTol));
    QVERIFY(torch::equal(db.top_images, expected.top_images));
    // Nothing staged is left beside it.
    for (const QString& f : filesUnder(saeDir_)) QVERIFY2(!QFileInfo(f).fileName().startsWith('.'), qPrintable(f));
  }

  // Cancel during a build: the job stops between batches and nothing is left on disk.
  void cancelledBuildLeavesNothing() {
    QVERIFY(settle());
    QVERIFY(view_->hasSae());
    const QStringList before = filesUnder(saeDir_);
    const QStringList userBefore = filesUnder(FeaturesView::userDatabaseRoot());
    app::FeatureDatabaseRequest r = view_->defaultBuildRequest();
    r.split = QStringLiteral("train");  // another destination than the build before
    r.limit = 0;
    r.batch = kCancelBatch;
    QSignalSpy built(view_.get(), &FeaturesView::databaseBuilt);
    QSignalSpy ended(view_.get(), &FeaturesView::databaseBuildEnded);
    view_->buildDatabase(r);
    QVERIFY(view_->building());
    QVERIFY(view_->cancelButton()->isVisibleTo(view_.get()));
    QTRY_VERIFY_WITH_TIMEOUT(view_->buildProgress()->value() > 0, kWaitMs);
    QVERIFY(view_->buildProgress()->value() < view_->buildProgress()->maximum());
    // Staged while it runs, in the SAE's folder.
    QVERIFY(filesUnder(saeDir_).size() > before.size());
    QTest::mouseClick(view_->cancelButton(), Qt::LeftButton);
    QVERIFY(ended.wait(kWaitMs));
    QCOMPARE(built.count(), 0);
    QVERIFY(!view_->building());
    QVERIFY2(view_->message().contains(QStringLiteral("cancelled")), qPrintable(view_->message()));
    QCOMPARE(filesUnder(saeDir_), before);
    QCOMPARE(filesUnder(FeaturesView::userDatabaseRoot()), userBefore);
  }

  // The bundled SAE's folder is the program's: its database goes to the user's folder,
  // equals what the library builds and what `prisma sae top` reads, and is found again.
  void buildsTheBundledSaesDatabaseInTheUserFolder() {
    const app::jobs::BundledSae bundled = app::jobs::bundledSaeFor(QString::fromLatin1(kMouse));
    QVERIFY(!bundled.sae.isEmpty());
    const QStringList resources = filesUnder(bundled.sae);
    QSignalSpy opened(view_.get(), &FeaturesView::saeOpened);
    view_->openSae(bundled.sae);
    QVERIFY(opened.wait(kWaitMs));
    QVERIFY(settle());
    QVERIFY(view_->sae().bundled);
    QCOMPARE(view_->sae().spec, QStringLiteral("sae:induction-2L"));
    const QStringList folders = view_->databaseFolders(QString::fromLatin1(kDataset), QStringLiteral("test"));
    QCOMPARE(folders.size(), 1);
    QVERIFY(folders.first().startsWith(FeaturesView::userDatabaseRoot()));

    QSignalSpy built(view_.get(), &FeaturesView::databaseBuilt);
    QSignalSpy ended(view_.get(), &FeaturesView::databaseBuildEnded);
    buildFromDialog(kBuildImages, kBuildTopK);
    if (QTest::currentTestFailed()) return;
    QVERIFY(ended.wait(kWaitMs));
    QCOMPARE(built.count(), 1);
    const QString folder = built.first().first().toString();
    QCOMPARE(folder, folders.first());
    QCOMPARE(filesUnder(bundled.sae), resources);
    QCOMPARE(view_->buildProgress()->value(), view_->buildProgress()->maximum());
    QCOMPARE(view_->buildProgress()->maximum(), kBuildImages);

    // What `prisma sae top` reads (the same loader), with the CLI's JSON.
    const sae::FeatureDatabase db = sae::loadFeatureDatabase(folder.toStdString());
    QCOMPARE(db.images, int64_t(kBuildImages));
    QCOMPARE(db.top_values.size(1), int64_t(kBuildTopK));
    const auto meta = [&db](const char* key) { return QString::fromStdString(db.meta.value(key, std::string())); };
    QCOMPARE(meta("sae"), QStringLiteral("sae:induction-2L"));
    QCOMPARE(meta("model"), QString::fromLatin1(kMouse));
    QCOMPARE(meta("dataset"), QString::fromLatin1(kDataset));
    QCOMPARE(meta("split"), QStringLiteral("test"));
    QCOMPARE(meta("hook"), view_->sae().hook);
    QCOMPARE(meta("dataset_path"), QString());
    QCOMPARE(db.meta.value("top_k", 0), kBuildTopK);
    QVERIFY(db.meta.contains("seed"));
    QCOMPARE(db.meta.value("seed", uint64_t(1)), uint64_t(datasets::kDefaultSeed));
    const sae::LoadedSae loaded = sae::loadSae(bundled.sae.toStdString());
    const sae::FeatureDatabase expected = libraryDatabase(loaded.sae, kBuildImages, kBuildTopK);
    QVERIFY(torch::allclose(db.top_values, expected.top_values, kTol, kTol));
    QVERIFY(torch::equal(db.top_images, expected.top_images));
    QVERIFY(torch::allclose(db.density, expected.density, kTol, kTol));

    // The tab reopened the SAE with it and shows its top images at once.
    QVERIFY(settle());
    QCOMPARE(view_->sae().databaseSource, folder);
    QCOMPARE(view_->sae().databaseImages, kBuildImages);
    if (view_->details().feature != view_->selectedFeature()) {
      QSignalSpy details(view_.get(), &FeaturesView::detailsReady);
      QVERIFY(details.wait(kWaitMs));
    }
    const int f = view_->selectedFeature();
    QVERIFY(f >= 0);
    const app::FeatureDetails& d = view_->details();
    QVERIFY(d.hasDatabase);
    QVERIFY(!d.top.isEmpty());
    QCOMPARE(d.top.first().position, int(db.top_images[f][0].item<int64_t>()));
    QVERIFY(close(d.top.first().value, db.top_values[f][0].item<double>()));
    QCOMPARE(view_->topImagesList()->count(), d.top.size());

    // Opened again later, the SAE finds it (remembered), not the bundled one.
    QSignalSpy again(view_.get(), &FeaturesView::saeOpened);
    view_->openSae(bundled.sae);
    QVERIFY(again.wait(kWaitMs));
    QCOMPARE(view_->sae().databaseSource, folder);
    QVERIFY(settle());
  }
};

QTEST_MAIN(TestFeaturesView)
#include "tst_features_view.moc"
