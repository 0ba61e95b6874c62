#include <netcore/protocol/message_body.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace netcore::protocol;

/// A private scratch directory, removed (with anything left in it) at the end of each test.
class MessageBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "netcore-body-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write_file(const std::string& name, const byte_buffer& bytes) const {
    const std::string path = (fs::path{dir_} / name).string();
    std::ofstream out{path, std::ios::binary};
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return path;
  }

  std::string dir_;
};

byte_buffer sample(std::size_t n) {
  byte_buffer out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(i * 31 + 7);
  return out;
}

TEST_F(MessageBodyTest, DefaultIsEmptyMemory) {
  message_body body;
  EXPECT_FALSE(body.is_file());
  EXPECT_EQ(body.size(), 0u);
  EXPECT_TRUE(body.bytes().empty());
  EXPECT_TRUE(body.path().empty());
  auto read = body.read_all();
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->empty());
}

TEST_F(MessageBodyTest, InMemory) {
  const byte_buffer data = sample(100);
  message_body body = message_body::in_memory(data);
  EXPECT_FALSE(body.is_file());
  EXPECT_EQ(body.size(), 100u);
  EXPECT_EQ(body.bytes(), data);
  EXPECT_TRUE(body.path().empty());
  auto read = body.read_all();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, data);
  EXPECT_EQ(body.take_bytes(), data);
  EXPECT_EQ(body.size(), 0u);
}

TEST_F(MessageBodyTest, RemoveFileOnMemoryBodyEmptiesIt) {
  message_body body = message_body::in_memory(sample(10));
  body.remove_file();
  EXPECT_FALSE(body.is_file());
  EXPECT_EQ(body.size(), 0u);
}

TEST_F(MessageBodyTest, InFileReadsBackAndRemoves) {
  const byte_buffer data = sample(70'000);
  const std::string path = write_file("body.part", data);
  message_body body = message_body::in_file(path, data.size());
  EXPECT_TRUE(body.is_file());
  EXPECT_EQ(body.path(), path);
  EXPECT_EQ(body.size(), data.size());
  EXPECT_TRUE(body.bytes().empty());
  auto read = body.read_all();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, data);

  body.remove_file();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(body.is_file());
  EXPECT_EQ(body.size(), 0u);
  EXPECT_TRUE(body.path().empty());
  body.remove_file();  // nothing left to remove
}

TEST_F(MessageBodyTest, EmptyFile) {
  const std::string path = write_file("empty.part", {});
  message_body body = message_body::in_file(path, 0);
  EXPECT_TRUE(body.is_file());
  auto read = body.read_all();
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->empty());
  body.remove_file();
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(MessageBodyTest, FileStaysWhenBodyIsDestroyed) {
  const std::string path = write_file("kept.part", sample(5));
  { message_body body = message_body::in_file(path, 5); }
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(MessageBodyTest, ReadOnlyTheBodysBytes) {
  const byte_buffer data = sample(50);
  const std::string path = write_file("longer.part", data);
  message_body body = message_body::in_file(path, 20);
  auto read = body.read_all();
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, byte_buffer(data.begin(), data.begin() + 20));
}

TEST_F(MessageBodyTest, MissingFileIsStorageFailed) {
  message_body body = message_body::in_file((fs::path{dir_} / "missing.part").string(), 10);
  auto read = body.read_all();
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), errc::storage_failed);
  body.remove_file();  // no file: no error either
  EXPECT_FALSE(body.is_file());
}

TEST_F(MessageBodyTest, TruncatedFileIsStorageFailed) {
  const std::string path = write_file("short.part", sample(10));
  message_body body = message_body::in_file(path, 11);
  auto read = body.read_all();
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), errc::storage_failed);
}

TEST_F(MessageBodyTest, DirectoryIsStorageFailed) {
  message_body body = message_body::in_file(dir_, 10);
  auto read = body.read_all();
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), errc::storage_failed);
}

TEST_F(MessageBodyTest, EmptyPathIsNotAFile) {
  message_body body = message_body::in_file("", 10);
  EXPECT_FALSE(body.is_file());
  EXPECT_EQ(body.size(), 0u);
}

}  // namespace
