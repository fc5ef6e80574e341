using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Sandbox.Images.Registry;
using Sandbox.Tests.Shared;

namespace Sandbox.Images.Tests.Registry;

/// <summary>
/// Once per test class: a plain-HTTP registry with no auth, a fault proxy in front of it, and in it (pushed by
/// skopeo) the umoci-made layered image as <c>layered:t</c> and a two-platform index (arm64 listed first) as
/// <c>multi:t</c>.
/// </summary>
public sealed class PlainRegistryFixture : IDisposable
{
    public TempDir Dir { get; } = new();
    public RegistryServer Registry { get; } = new(RegistryServer.Mode.Plain);
    public FaultProxy Proxy { get; }
    public string LayeredLayout { get; }
    public string LayeredDigest { get; }
    public string MultiAmd64Digest { get; }
    public string MultiArm64Digest { get; }

    public PlainRegistryFixture()
    {
        Proxy = new FaultProxy(Registry.Host);
        var layout = UmociLayeredImage.Build(Dir.Sub("umoci"));
        LayeredLayout = layout;
        Skopeo("copy", "--dest-tls-verify=false", "oci:" + layout, $"docker://{Registry.Host}/layered:t");
        LayeredDigest = Skopeo("inspect", "--tls-verify=false", "--format", "{{.Digest}}", $"docker://{Registry.Host}/layered:t").Trim();
        (MultiAmd64Digest, MultiArm64Digest) = PushTwoPlatformIndex(layout[..layout.LastIndexOf(':')], Dir.Sub("multi"));
    }

    public static string Skopeo(params string[] args) => Tool.Run(Tool.Require("skopeo"), args);

    public RegistryOptions Options(TimeSpan? idle = null) => new()
    {
        Credentials = null,
        IdleTimeout = idle ?? TimeSpan.FromSeconds(30),
        RetryDelay = TimeSpan.FromMilliseconds(50),
    };

    /// <summary>An OCI layout whose ref "t" is an index of an arm64 image then the amd64 one (same layers), pushed with --all.</summary>
    private (string Amd64, string Arm64) PushTwoPlatformIndex(string umociLayout, string dir)
    {
        Directory.CreateDirectory(dir);
        var layout = Path.Combine(dir, "layout");
        Skopeo("copy", "oci:" + umociLayout + ":t", "oci:" + layout + ":amd");
        var index = JsonNode.Parse(File.ReadAllText(Path.Combine(layout, "index.json")))!;
        var amdDescriptor = index["manifests"]!.AsArray().Single()!;
        var amdDigest = amdDescriptor["digest"]!.GetValue<string>();
        var manifest = JsonNode.Parse(File.ReadAllBytes(Blob(layout, amdDigest)))!;
        var config = JsonNode.Parse(File.ReadAllBytes(Blob(layout, manifest["config"]!["digest"]!.GetValue<string>())))!;
        config["architecture"] = "arm64";
        config["variant"] = "v8";
        var configBytes = Encoding.UTF8.GetBytes(config.ToJsonString());
        var configDigest = Write(layout, configBytes);
        manifest["config"]!["digest"] = configDigest;
        manifest["config"]!["size"] = configBytes.Length;
        var armBytes = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var armDigest = Write(layout, armBytes);
        var nested = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = Oci.MediaTypes.OciIndex,
            ["manifests"] = new JsonArray(
                new JsonObject
                {
                    ["mediaType"] = Oci.MediaTypes.OciManifest, ["digest"] = armDigest, ["size"] = armBytes.Length,
                    ["platform"] = new JsonObject { ["architecture"] = "arm64", ["os"] = "linux", ["variant"] = "v8" },
                },
                new JsonObject
                {
                    ["mediaType"] = Oci.MediaTypes.OciManifest, ["digest"] = amdDigest, ["size"] = amdDescriptor["size"]!.GetValue<long>(),
                    ["platform"] = new JsonObject { ["architecture"] = "amd64", ["os"] = "linux" },
                }),
        };
        var nestedBytes = Encoding.UTF8.GetBytes(nested.ToJsonString());
        var nestedDigest = Write(layout, nestedBytes);
        var top = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["manifests"] = new JsonArray(new JsonObject
            {
                ["mediaType"] = Oci.MediaTypes.OciIndex, ["digest"] = nestedDigest, ["size"] = nestedBytes.Length,
                ["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = "t" },
            }),
        };
        File.WriteAllText(Path.Combine(layout, "index.json"), top.ToJsonString());
        Skopeo("copy", "--all", "--dest-tls-verify=false", "oci:" + layout + ":t", $"docker://{Registry.Host}/multi:t");
        return (amdDigest, armDigest);
    }

    private static string Blob(string layout, string digest) => Path.Combine(layout, "blobs", "sha256", digest[7..]);

    private static string Write(string layout, byte[] bytes)
    {
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        File.WriteAllBytes(Blob(layout, digest), bytes);
        return digest;
    }

    public void Dispose()
    {
        Proxy.Dispose();
        Registry.Dispose();
        Dir.Dispose();
    }
}
