// The data sets read from files -- MNIST / Fashion-MNIST (IDX), the dSprites .npz, image
// folders and lists -- with corrupt and truncated files, batching and the registry.
#include "DatasetTestSupport.h"
#include "RequireData.h"

class TestFileDatasets : public QObject {
  Q_OBJECT

private slots:
  void mnist();
  void fashionMnist();
  void mnistMissing();
  void idxCorrupt_data();
  void idxCorrupt();
  void idxGzip();
  void npzDSprites_data();
  void npzDSprites();
  void npzCorrupt();
  void imageFolder();
  void imageFolderSplit();
  void imageFiles();
  void batch();
  void registry();
};

void TestFileDatasets::mnist() {
  std::unique_ptr<Dataset> d;
  try {
    d = makeDataset("mnist");
  } catch (const std::runtime_error& e) {
    PRISMA_SKIP_WITHOUT_DATA(QString("MNIST absent (%1)").arg(e.what()));
  }
  QCOMPARE(d->size(Split::Train), std::size_t{60000});
  QCOMPARE(d->size(Split::Test), std::size_t{10000});
  const std::vector<int> firstLabels = {5, 0, 4, 1, 9};
  for (std::size_t i = 0; i < firstLabels.size(); ++i) QCOMPARE(d->label(Split::Train, i), firstLabels[i]);
  QCOMPARE(classCounts(*d, Split::Train)[0], std::size_t{5923});
  const Item item = d->item(Split::Train, 0);
  QCOMPARE(item.height, 28);
  QCOMPARE(item.width, 28);
  QCOMPARE(item.label, 5);
  QVERIFY(*std::max_element(item.pixels.begin(), item.pixels.end()) > 200);
}

void TestFileDatasets::fashionMnist() {
  std::unique_ptr<Dataset> d;
  try {
    d = makeDataset("fashion-mnist");
  } catch (const std::runtime_error& e) {
    PRISMA_SKIP_WITHOUT_DATA(QString("Fashion-MNIST absent (%1)").arg(e.what()));
  }
  QCOMPARE(d->size(Split::Train), std::size_t{60000});
  QCOMPARE(d->size(Split::Test), std::size_t{10000});
  for (std::size_t n : classCounts(*d, Split::Train)) QCOMPARE(n, std::size_t{6000});
  for (std::size_t n : classCounts(*d, Split::Test)) QCOMPARE(n, std::size_t{1000});
  QCOMPARE(d->classNames()[9], std::string("Ankle boot"));
}

void TestFileDatasets::mnistMissing() {
  QTemporaryDir dir;
  const std::string empty = dir.path().toStdString();
  const QString digits = errorOf([&] { MnistDataset(MnistVariant::Digits, empty); });
  QVERIFY2(digits.contains("train-images-idx3-ubyte"), qPrintable(digits));
  QVERIFY2(digits.contains("scripts/fetch-data.sh"), qPrintable(digits));
  const QString fashion = errorOf([&] { MnistDataset(MnistVariant::Fashion, empty); });
  QVERIFY2(fashion.contains("apt install dataset-fashion-mnist"), qPrintable(fashion));
}

void TestFileDatasets::idxCorrupt_data() {
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QString>("message");
  const std::string labels2 = be32(kIdxLabelsMagic) + be32(2) + std::string("\x03\x07", 2);
  QTest::newRow("wrong magic")
      << QByteArray::fromStdString(be32(kIdxImagesMagic) + be32(2) + std::string("\x03\x07", 2))
      << "wrong magic 0x00000803, expected 0x00000801";
  QTest::newRow("truncated data")
      << QByteArray::fromStdString(be32(kIdxLabelsMagic) + be32(5) + std::string("\x03\x07", 2))
      << "truncated: the header promises 5 = 5 bytes of data, the file has 2";
  QTest::newRow("truncated header") << QByteArray::fromStdString(be32(kIdxLabelsMagic).substr(0, 3))
                                    << "truncated IDX header";
  QTest::newRow("no dimensions") << QByteArray::fromStdString(be32(kIdxLabelsMagic))
                                 << "truncated IDX header (dimensions missing)";
  QTest::newRow("empty") << QByteArray() << "truncated IDX header";
  QTest::newRow("valid") << QByteArray::fromStdString(labels2) << "";
}

void TestFileDatasets::idxCorrupt() {
  QFETCH(QByteArray, bytes);
  QFETCH(QString, message);
  QTemporaryDir dir;
  const std::string path = dir.filePath("train-labels-idx1-ubyte").toStdString();
  writeBytes(path, bytes.toStdString());
  const QString error = errorOf([&] { readIdx(path, kIdxLabelsMagic); });
  if (message.isEmpty()) {
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const IdxArray a = readIdx(path, kIdxLabelsMagic);
    QCOMPARE(a.dims, std::vector<std::size_t>{2});
    QCOMPARE(a.data, (std::vector<std::uint8_t>{3, 7}));
    return;
  }
  QVERIFY2(error.startsWith(QString::fromStdString(path) + ": "), qPrintable(error));
  QVERIFY2(error.contains(message), qPrintable(error));

  // The dataset built on such a file reports the same, and does not crash.
  std::vector<std::uint8_t> images(2 * 28 * 28, 0);
  const std::string imageHeader = be32(kIdxImagesMagic) + be32(2) + be32(28) + be32(28);
  for (const char* prefix : {"train", "t10k"}) {
    writeBytes(dir.filePath(QString(prefix) + "-images-idx3-ubyte").toStdString(),
               imageHeader + std::string(images.begin(), images.end()));
    if (std::string(prefix) == "t10k")
      writeBytes(dir.filePath("t10k-labels-idx1-ubyte").toStdString(),
                 be32(kIdxLabelsMagic) + be32(2) + std::string("\x01\x02", 2));
  }
  const QString datasetError = errorOf([&] { MnistDataset(MnistVariant::Digits, dir.path().toStdString()); });
  QVERIFY2(datasetError.contains(message), qPrintable(datasetError));
}

void TestFileDatasets::idxGzip() {
  QTemporaryDir dir;
  const std::string payload = be32(kIdxLabelsMagic) + be32(4) + std::string("\x01\x02\x03\x04", 4);
  const std::string path = dir.filePath("labels.gz").toStdString();
  gzFile gz = gzopen(path.c_str(), "wb");
  gzwrite(gz, payload.data(), static_cast<unsigned>(payload.size()));
  gzclose(gz);
  QCOMPARE(readIdx(path, kIdxLabelsMagic).data, (std::vector<std::uint8_t>{1, 2, 3, 4}));

  // A gzip cut short: an error naming the file, no crash.
  const std::string whole = readFile(path);
  const std::string cut = dir.filePath("cut.gz").toStdString();
  writeBytes(cut, whole.substr(0, whole.size() - 12));
  const QString error = errorOf([&] { readIdx(cut, kIdxLabelsMagic); });
  QVERIFY2(error.startsWith(QString::fromStdString(cut) + ": "), qPrintable(error));
}

void TestFileDatasets::npzDSprites_data() {
  QTest::addColumn<bool>("zip64");
  QTest::newRow("zip") << false;
  QTest::newRow("zip64") << true;
}

void TestFileDatasets::npzDSprites() {
  QFETCH(bool, zip64);
  // Four rows in DeepMind's layout; the images are distinctive so a mix-up shows.
  const std::vector<std::size_t> combos = {0, 5000, 400000, 737279};
  std::string classes, images;
  for (std::size_t c : combos) {
    const auto f = DSpritesDataset::factorsOf(c);
    for (std::int64_t v : {std::int64_t{0}, std::int64_t{f.shape}, std::int64_t{f.scale},
                           std::int64_t{f.orientation}, std::int64_t{f.posX}, std::int64_t{f.posY}})
      putLe(classes, v);
    for (std::uint8_t p : DSpritesDataset::render(f)) images += static_cast<char>(p ? 1 : 0);
  }
  QTemporaryDir dir;
  const std::string path = dir.filePath("dsprites.npz").toStdString();
  writeBytes(path, zipArchive({{"latents_classes.npy", npy("<i8", {4, 6}, classes), false},
                               {"imgs.npy", npy("|u1", {4, 64, 64}, images), true}},
                              zip64));

  const NpzFile npz(path);
  QCOMPARE(npz.arrayNames(), (std::vector<std::string>{"latents_classes", "imgs"}));

  DSpritesOptions o;
  o.npzPath = path;
  o.labelFactor = DSpritesFactor::Scale;
  const DSpritesDataset d(o);
  QVERIFY(d.fromNpz());
  QCOMPARE(d.size(Split::Train), std::size_t{3});
  QCOMPARE(d.size(Split::Test), std::size_t{1});
  std::set<int> seenShapes;
  for (Split split : {Split::Train, Split::Test})
    for (std::size_t i = 0; i < d.size(split); ++i) {
      const Item item = d.item(split, i);
      DSpritesDataset::Factors f;
      f.shape = int(item.factors.at("shape"));
      f.scale = int(std::lround((item.factors.at("scale") - 0.5) / 0.1));
      f.orientation = int(std::lround(item.factors.at("orientation") / (2 * kPi) * 39));
      f.posX = int(std::lround(item.factors.at("posX") * 31));
      f.posY = int(std::lround(item.factors.at("posY") * 31));
      QCOMPARE(item.label, f.scale);
      QVERIFY(item.pixels == DSpritesDataset::render(f));
      seenShapes.insert(int(DSpritesDataset::combinationOf(f)));
    }
  QCOMPARE(seenShapes.size(), std::size_t{4});
}

void TestFileDatasets::npzCorrupt() {
  QTemporaryDir dir;
  const std::string garbage = dir.filePath("garbage.npz").toStdString();
  writeBytes(garbage, std::string(100, 'x'));
  QString error = errorOf([&] { NpzFile{garbage}; });
  QVERIFY2(error.startsWith(QString::fromStdString(garbage)) && error.contains("not a zip"), qPrintable(error));

  // Deflated data cut in half inside an otherwise valid archive.
  std::string images(2 * 64 * 64, '\0');
  for (std::size_t i = 0; i < images.size(); i += 3) images[i] = 1;
  std::string archive = zipArchive({{"imgs.npy", npy("|u1", {2, 64, 64}, images), true}}, false);
  const std::string cut = dir.filePath("cut.npz").toStdString();
  writeBytes(cut, archive);
  const NpzFile npz(cut);
  NpyReader reader = npz.open("imgs");
  std::vector<std::uint8_t> buffer(images.size());
  reader.read(buffer.data(), buffer.size());
  QCOMPARE(std::string(buffer.begin(), buffer.end()), images);
  error = errorOf([&] {
    NpyReader again = npz.open("imgs");
    std::vector<std::uint8_t> more(images.size() + 1);
    again.read(more.data(), more.size());
  });
  QVERIFY2(error.contains("truncated"), qPrintable(error));
  error = errorOf([&] { npz.open("latents_classes"); });
  QVERIFY2(error.contains("no array 'latents_classes'"), qPrintable(error));

  // A missing file through the registry says where to get it.
  DatasetOptions o;
  o.path = dir.filePath("absent.npz").toStdString();
  error = errorOf([&] { makeDataset("dsprites-npz", o); });
  QVERIFY2(error.contains("absent.npz") && error.contains("dsprites-dataset"), qPrintable(error));
}

void TestFileDatasets::imageFolder() {
  QTemporaryDir dir;
  const std::filesystem::path root = dir.path().toStdString();
  std::filesystem::create_directories(root / "cats");
  std::filesystem::create_directories(root / "dogs");
  const auto a = gradient(8, 6, 1), b = gradient(8, 6, 2), c = gradient(8, 6, 3);
  writeImage((root / "cats" / "a.png").string(), a.data(), 8, 6, 3);
  writeImage((root / "cats" / "b.png").string(), b.data(), 8, 6, 3);
  writeImage((root / "dogs" / "c.png").string(), c.data(), 8, 6, 3);
  writeBytes((root / "dogs" / "notes.png").string(), "this is not an image");
  const std::string whole = readFile((root / "cats" / "a.png").string());
  writeBytes((root / "dogs" / "truncated.png").string(), whole.substr(0, 40));

  const ImageFolderDataset d(root.string());
  QCOMPARE(d.classNames(), (std::vector<std::string>{"cats", "dogs"}));
  QCOMPARE(d.size(Split::Train), std::size_t{3});
  QCOMPARE(d.size(Split::Test), std::size_t{0});
  QCOMPARE(classCounts(d, Split::Train), (std::vector<std::size_t>{2, 1}));
  const std::vector<std::string> warnings = d.warnings();
  QCOMPARE(warnings.size(), std::size_t{2});
  QVERIFY(warnings[0].find("notes.png: skipped") != std::string::npos);
  QVERIFY(warnings[1].find("truncated.png: skipped") != std::string::npos);
  QCOMPARE(d.imageShape().height, 8);
  QCOMPARE(d.imageShape().width, 6);
  QCOMPARE(d.imageShape().channels, 3);

  const Item item = d.item(Split::Train, 2);
  QCOMPARE(item.label, 1);
  QCOMPARE(item.channels, 3);
  QVERIFY(item.pixels == c);  // PNG is lossless and RGB order survives the round trip

  // The quick header check lets the truncated file through; reading it then fails
  // with its name instead of crashing.
  const ImageFolderDataset quick(root.string(), ImageCheck::Header);
  QCOMPARE(quick.size(Split::Train), std::size_t{4});
  QCOMPARE(quick.warnings().size(), std::size_t{1});
  std::size_t truncatedIndex = 0;
  for (std::size_t i = 0; i < quick.size(Split::Train); ++i)
    if (quick.path(Split::Train, i).find("truncated.png") != std::string::npos) truncatedIndex = i;
  const QString error = errorOf([&] { quick.item(Split::Train, truncatedIndex); });
  QVERIFY2(error.contains("truncated.png"), qPrintable(error));

  QVERIFY(!errorOf([&] { ImageFolderDataset((root / "absent").string()); }).isEmpty());
  QVERIFY(!errorOf([&] { d.item(Split::Train, 3); }).isEmpty());
}

void TestFileDatasets::imageFolderSplit() {
  QTemporaryDir dir;
  const std::filesystem::path root = dir.path().toStdString();
  const auto px = gradient(4, 4, 0);
  for (const char* part : {"train/x", "train/y", "test/y"}) {
    std::filesystem::create_directories(root / part);
    writeImage((root / part / "0.png").string(), px.data(), 4, 4, 3);
  }
  const ImageFolderDataset d(root.string());
  QCOMPARE(d.classNames(), (std::vector<std::string>{"x", "y"}));
  QCOMPARE(d.size(Split::Train), std::size_t{2});
  QCOMPARE(d.size(Split::Test), std::size_t{1});
  QCOMPARE(d.label(Split::Test, 0), 1);
}

void TestFileDatasets::imageFiles() {
  QTemporaryDir dir;
  const auto px = gradient(5, 7, 4);
  const std::string good = dir.filePath("good.png").toStdString();
  writeImage(good, px.data(), 5, 7, 3);
  const std::string missing = dir.filePath("missing.png").toStdString();
  const ImageFilesDataset d({good, missing});
  QCOMPARE(d.size(Split::Train), std::size_t{1});
  QCOMPARE(d.warnings().size(), std::size_t{1});
  QVERIFY(d.warnings()[0].find("missing.png") != std::string::npos);
  const Item item = d.item(Split::Train, 0);
  QCOMPARE(item.label, kNoLabel);
  QCOMPARE(item.width, 7);
  QVERIFY(item.pixels == px);
  QCOMPARE(makeDataset(good)->size(Split::Train), std::size_t{1});
}

void TestFileDatasets::batch() {
  const InductionDataset d;
  Preprocess pre;
  pre.height = pre.width = 32;
  pre.channels = 1;
  pre.interpolation = Interpolation::Nearest;
  pre.mean = {0.0f};
  pre.std = {1.0f};
  const Batch b = makeBatch(d, Split::Train, {0, 1, 2}, pre);
  QCOMPARE(b.count, 3);
  QCOMPARE(b.inputs.size(), std::size_t{3 * 32 * 32});
  for (int n = 0; n < 3; ++n) {
    const Item item = d.item(Split::Train, n);
    QCOMPARE(b.labels[n], std::int64_t{item.label});
    for (std::size_t p = 0; p < item.pixels.size(); ++p)
      QCOMPARE(b.inputs[n * 32 * 32 + p], item.pixels[p] ? 1.0f : 0.0f);  // the original's 0/1
  }
}

void TestFileDatasets::registry() {
  for (const auto& info : builtinDatasets()) QVERIFY(!info.description.empty());
  QString error = errorOf([] { makeDataset("no-such-dataset"); });
  QVERIFY2(error.contains("unknown dataset 'no-such-dataset'") && error.contains("induction"), qPrintable(error));
  DatasetOptions o;
  o.labelFactor = "colour";
  error = errorOf([&] { makeDataset("dsprites", o); });
  QVERIFY2(error.contains("colour"), qPrintable(error));
  const auto d = makeDataset("circle");
  QVERIFY(!errorOf([&] { d->item(Split::Test, 885); }).isEmpty());
  QVERIFY(splitFromString("test") == Split::Test);
}

QTEST_GUILESS_MAIN(TestFileDatasets)
#include "tst_file_datasets.moc"
