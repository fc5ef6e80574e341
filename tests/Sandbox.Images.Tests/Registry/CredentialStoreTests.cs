using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Images.Registry;
using Xunit;

namespace Sandbox.Images.Tests.Registry;

/// <summary>Logins in docker's config.json and containers' auth.json: read, written 0600, other keys kept, removed.</summary>
public sealed class CredentialStoreTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_a_docker_config_login_and_keeps_other_keys_when_writing()
    {
        var file = Path.Combine(_dir.Path, "docker", "config.json");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:pa:ss"));
        File.WriteAllText(file, "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" + auth + "\"}},\"psFormat\":\"table\"}");
        var store = new CredentialStore(file);
        var found = store.Find("docker.io");
        Assert.NotNull(found);
        Assert.Equal("alice", found.Username);
        Assert.Equal("pa:ss", found.Password);
        Assert.DoesNotContain("pa:ss", found.ToString());

        store.Save("127.0.0.1:5000", new RegistryCredentials("bob", "pw"));
        var root = JsonNode.Parse(File.ReadAllText(file))!;
        Assert.Equal("table", root["psFormat"]!.GetValue<string>());
        Assert.NotNull(root["auths"]!["https://index.docker.io/v1/"]);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal("bob", store.Find("127.0.0.1:5000")!.Username);

        Assert.Single(store.Remove("127.0.0.1:5000"));
        Assert.Null(store.Find("127.0.0.1:5000"));
        Assert.NotNull(store.Find("docker.io"));
    }

    [Fact]
    public void A_new_auth_file_and_its_directory_are_private()
    {
        var file = Path.Combine(_dir.Path, "new-dir", "auth.json");
        new CredentialStore(file).Save("docker.io", new RegistryCredentials("carol", "pw"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
        // containers' auth.json files Docker Hub as docker.io.
        Assert.NotNull(JsonNode.Parse(File.ReadAllText(file))!["auths"]!["docker.io"]);
    }

    [Theory]
    [InlineData("busybox", "docker.io", "library/busybox", "latest", null, "busybox:latest")]
    [InlineData("docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36", null, "busybox:1.36")]
    [InlineData("user/app", "docker.io", "user/app", "latest", null, "user/app:latest")]
    [InlineData("localhost:5000/a/b:v2", "localhost:5000", "a/b", "v2", null, "localhost:5000/a/b:v2")]
    [InlineData("example.com/app", "example.com", "app", "latest", null, "example.com/app:latest")]
    public void References_are_normalised_as_docker_does(string input, string registry, string repo, string tag, string? digest, string storeName)
    {
        var r = RegistryReference.Parse(input);
        Assert.Equal(registry, r.Registry);
        Assert.Equal(repo, r.Repository);
        Assert.Equal(tag, r.Tag);
        Assert.Equal(digest, r.Digest);
        Assert.Equal(storeName, r.StoreName.ToString());
    }

    [Fact]
    public void Digest_references_and_bad_ones()
    {
        var d = "sha256:" + new string('a', 64);
        var r = RegistryReference.Parse($"127.0.0.1:5000/app@{d}");
        Assert.Null(r.Tag);
        Assert.Equal(d, r.ManifestReference);
        Assert.False(RegistryReference.TryParse("Busybox", out _, out _));
        Assert.False(RegistryReference.TryParse("app@sha256:abc", out _, out _));
        Assert.True(RegistryReference.IsLoopback("127.0.0.2:5000"));
        Assert.True(RegistryReference.IsLoopback("localhost:5000"));
        Assert.False(RegistryReference.IsLoopback("10.0.0.1:5000"));
    }

    [Fact]
    public void Challenges_are_parsed_with_quoted_commas()
    {
        var c = AuthChallenge.Parse("Bearer", "realm=\"https://auth.example/token\",service=\"reg\",scope=\"repository:a/b:pull,push\"");
        Assert.True(c.IsBearer);
        Assert.Equal("https://auth.example/token", c.Realm);
        Assert.Equal("reg", c.Service);
        Assert.Equal("repository:a/b:pull,push", c.Parameters["scope"]);
    }
}
