using System.Text;
using Sandbox.Images.Registry;
using Sandbox.Tests.Shared;
using Xunit;

namespace Sandbox.Images.Tests.Registry;

/// <summary>The umoci image in a registry behind htpasswd over TLS (a CA the test makes), pushed there by skopeo.</summary>
public sealed class TlsRegistryFixture : IDisposable
{
    public TempDir Dir { get; } = new();
    public RegistryServer Registry { get; } = new(RegistryServer.Mode.TlsHtpasswd);
    public string Digest { get; }

    public TlsRegistryFixture()
    {
        try
        {
            var layout = UmociLayeredImage.Build(Dir.Sub("umoci"));
            PlainRegistryFixture.Skopeo("copy", "--dest-cert-dir", Registry.CaDir!, "--dest-creds", $"{RegistryServer.User}:{RegistryServer.Password}",
                "oci:" + layout, $"docker://{Registry.Host}/secure/layered:t");
            Digest = PlainRegistryFixture.Skopeo("inspect", "--cert-dir", Registry.CaDir!, "--creds", $"{RegistryServer.User}:{RegistryServer.Password}",
                "--format", "{{.Digest}}", $"docker://{Registry.Host}/secure/layered:t").Trim();
        }
        catch
        {
            Dispose(); // xunit does not dispose a fixture whose constructor threw
            throw;
        }
    }

    public void Dispose()
    {
        Registry.Dispose();
        Dir.Dispose();
    }
}

/// <summary>Basic auth over TLS: CA per registry, --tls-verify=false, stored logins, wrong and missing passwords.</summary>
public sealed class TlsRegistryTests(TlsRegistryFixture fx) : IClassFixture<TlsRegistryFixture>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Ref => $"{fx.Registry.Host}/secure/layered:t";

    private CredentialStore Logins(string? password)
    {
        var store = new CredentialStore(Path.Combine(_dir.Path, "auth.json"));
        if (password is not null) store.Save(fx.Registry.Host, new RegistryCredentials(RegistryServer.User, password));
        return store;
    }

    private RegistryOptions Options(string? password, bool ca = true, bool verify = true) => new()
    {
        Credentials = Logins(password),
        CertDir = ca ? fx.Registry.CaDir : null,
        CertsDirectories = [],
        InsecureRegistries = verify ? new HashSet<string>() : new HashSet<string> { fx.Registry.Host },
        RetryDelay = TimeSpan.FromMilliseconds(50),
    };

    [Fact]
    public async Task Pulls_with_a_stored_login_and_the_registrys_CA()
    {
        var image = await _dir.NewStore().PullAsync(Ref, Options(RegistryServer.Password));
        Assert.Equal(fx.Digest, image.Digest);
    }

    [Fact]
    public async Task The_CA_is_found_in_a_certs_d_directory_named_after_host_and_port()
    {
        var certsD = Path.Combine(_dir.Path, "certs.d");
        Directory.CreateDirectory(Path.Combine(certsD, fx.Registry.Host));
        File.Copy(Path.Combine(fx.Registry.CaDir!, "ca.crt"), Path.Combine(certsD, fx.Registry.Host, "ca.crt"));
        var options = new RegistryOptions { Credentials = Logins(RegistryServer.Password), CertsDirectories = [certsD] };
        var image = await _dir.NewStore().PullAsync(Ref, options);
        Assert.Equal(fx.Digest, image.Digest);
    }

    [Fact]
    public async Task An_unknown_CA_is_refused_and_tls_verify_false_accepts_it()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => _dir.NewStore().PullAsync(Ref, Options(RegistryServer.Password, ca: false)));
        Assert.Equal(RegistryFailure.Tls, e.Failure);
        Assert.Contains("TLS handshake failed", e.Message);
        var image = await _dir.NewStore().PullAsync(Ref, Options(RegistryServer.Password, ca: false, verify: false));
        Assert.Equal(fx.Digest, image.Digest);
    }

    [Fact]
    public async Task A_wrong_password_is_one_clear_line_without_the_password()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => _dir.NewStore().PullAsync(Ref, Options("not-the-password")));
        Assert.Equal(RegistryFailure.Unauthorized, e.Failure);
        Assert.Contains($"wrong username or password for '{RegistryServer.User}'", e.Message);
        Assert.DoesNotContain("not-the-password", e.ToString());
        Assert.Equal("", StoreState.Of(_dir.ImagesDir).Blobs);
    }

    [Fact]
    public async Task No_login_asks_for_one()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => _dir.NewStore().PullAsync(Ref, Options(null)));
        Assert.Equal(RegistryFailure.Unauthorized, e.Failure);
        Assert.Contains($"sandbox login {fx.Registry.Host}", e.Message);
    }

    [Fact]
    public async Task Push_over_TLS_with_basic_auth_then_skopeo_sees_the_same_digest()
    {
        var store = _dir.NewStore();
        await store.PullAsync(Ref, Options(RegistryServer.Password));
        var result = await store.PushAsync(Ref, $"{fx.Registry.Host}/secure/copy:v1", Options(RegistryServer.Password));
        Assert.Equal(fx.Digest, result.Digest);
        Assert.All(result.Blobs.Values, b => Assert.Equal(BlobPushResult.Mounted, b));
        var seen = PlainRegistryFixture.Skopeo("inspect", "--cert-dir", fx.Registry.CaDir!, "--creds", $"{RegistryServer.User}:{RegistryServer.Password}",
            "--format", "{{.Digest}}", $"docker://{fx.Registry.Host}/secure/copy:v1").Trim();
        Assert.Equal(fx.Digest, seen);
    }

    /// <summary>
    /// A real docker credential helper (docker-credential-sbxtest, python): keeps logins in a JSON file beside it and
    /// logs each call's argv, so the test can see that secrets never reach a command line.
    /// </summary>
    private string WriteHelper()
    {
        var bin = Path.Combine(_dir.Path, "bin");
        Directory.CreateDirectory(bin);
        var helper = Path.Combine(bin, "docker-credential-sbxtest");
        File.WriteAllText(helper, $$"""
            #!/usr/bin/env python3
            import json, os, sys
            db, log = "{{Path.Combine(_dir.Path, "helper.json")}}", "{{Path.Combine(_dir.Path, "helper.log")}}"
            data = json.load(open(db)) if os.path.exists(db) else {}
            action, stdin = sys.argv[1], sys.stdin.read().strip()
            open(log, "a").write(json.dumps(sys.argv[1:]) + "\n")
            if action == "get":
                if stdin not in data:
                    print("credentials not found in native keychain"); sys.exit(1)
                print(json.dumps({"ServerURL": stdin, "Username": data[stdin][0], "Secret": data[stdin][1]}))
            elif action == "store":
                c = json.loads(stdin); data[c["ServerURL"]] = [c["Username"], c["Secret"]]; json.dump(data, open(db, "w"))
            elif action == "erase":
                if stdin not in data:
                    print("credentials not found in native keychain"); sys.exit(1)
                del data[stdin]; json.dump(data, open(db, "w"))
            else:
                print("unknown action"); sys.exit(1)
            """);
        File.SetUnixFileMode(helper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return bin;
    }

    [Fact]
    public async Task Logins_go_through_a_credential_helper_named_by_credsStore_or_credHelpers()
    {
        var bin = WriteHelper();
        var config = Path.Combine(_dir.Path, "config.json");
        File.WriteAllText(config, """{"credsStore": "sbxtest", "auths": {}}""");
        var logins = new CredentialStore(config, bin);
        RegistryOptions Opts(CredentialStore c) => new() { Credentials = c, CertDir = fx.Registry.CaDir, CertsDirectories = [], RetryDelay = TimeSpan.FromMilliseconds(50) };

        // login: the secret goes to the helper; the file keeps an empty entry (docker's form) and no secret.
        var where = logins.Save(fx.Registry.Host, new RegistryCredentials(RegistryServer.User, RegistryServer.Password));
        Assert.Contains("docker-credential-sbxtest", where);
        var text = File.ReadAllText(config);
        Assert.DoesNotContain(RegistryServer.Password, text);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryServer.User}:{RegistryServer.Password}")), text);
        Assert.Contains($"\"{fx.Registry.Host}\": {{}}", text);
        Assert.Contains(RegistryServer.Password, File.ReadAllText(Path.Combine(_dir.Path, "helper.json")));

        // A pull finds the login through the helper.
        var image = await _dir.NewStore().PullAsync(Ref, Opts(logins));
        Assert.Equal(fx.Digest, image.Digest);

        // credHelpers wins over credsStore for its registry (here credsStore names a helper that is not installed).
        File.WriteAllText(config, $$$"""{"credsStore": "nothere", "credHelpers": {"{{{fx.Registry.Host}}}": "sbxtest"}}""");
        image = await _dir.NewStore().PullAsync(Ref, Opts(new CredentialStore(config, bin)));
        Assert.Equal(fx.Digest, image.Digest);
        var missing = Assert.Throws<Sandbox.Core.SandboxException>(() => new CredentialStore(config, bin).Find("other.example:5000"));
        Assert.Equal($"credential helper docker-credential-nothere (named in {config}) is not installed (not found in PATH)", missing.Message);

        // logout erases it in the helper; the next pull has no login.
        File.WriteAllText(config, """{"credsStore": "sbxtest"}""");
        var removed = new CredentialStore(config, bin).Remove(fx.Registry.Host);
        Assert.Contains(removed, r => r.Contains("docker-credential-sbxtest", StringComparison.Ordinal));
        var e = await Assert.ThrowsAsync<RegistryException>(() => _dir.NewStore().PullAsync(Ref, Opts(new CredentialStore(config, bin))));
        Assert.Equal(RegistryFailure.Unauthorized, e.Failure);

        // The helper saw actions as its only argument: never a secret on a command line.
        var calls = File.ReadAllLines(Path.Combine(_dir.Path, "helper.log"));
        Assert.Contains("[\"store\"]", calls);
        Assert.Contains("[\"get\"]", calls);
        Assert.Contains("[\"erase\"]", calls);
        Assert.All(calls, c => Assert.DoesNotContain(RegistryServer.Password, c));
    }
}

/// <summary>Token auth: the registry sends clients to a token server the test runs; tokens are cached per scope.</summary>
public sealed class TokenRegistryFixture : IDisposable
{
    public TempDir Dir { get; } = new();
    public RegistryServer Registry { get; } = new(RegistryServer.Mode.Token);
    public string Digest { get; }

    public TokenRegistryFixture()
    {
        try
        {
            var layout = UmociLayeredImage.Build(Dir.Sub("umoci"));
            PlainRegistryFixture.Skopeo("copy", "--dest-tls-verify=false", "--dest-creds", $"{RegistryServer.User}:{RegistryServer.Password}",
                "oci:" + layout, $"docker://{Registry.Host}/tok/layered:t");
            Digest = PlainRegistryFixture.Skopeo("inspect", "--tls-verify=false", "--creds", $"{RegistryServer.User}:{RegistryServer.Password}",
                "--format", "{{.Digest}}", $"docker://{Registry.Host}/tok/layered:t").Trim();
        }
        catch
        {
            Dispose(); // xunit does not dispose a fixture whose constructor threw
            throw;
        }
    }

    public void Dispose()
    {
        Registry.Dispose();
        Dir.Dispose();
    }
}

public sealed class TokenRegistryTests(TokenRegistryFixture fx) : IClassFixture<TokenRegistryFixture>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private RegistryOptions Options(string? password)
    {
        var logins = new CredentialStore(Path.Combine(_dir.Path, "config.json"));
        if (password is not null) logins.Save(fx.Registry.Host, new RegistryCredentials(RegistryServer.User, password));
        return new RegistryOptions { Credentials = logins, CertsDirectories = [], RetryDelay = TimeSpan.FromMilliseconds(50) };
    }

    [Fact]
    public async Task An_identity_token_is_exchanged_as_an_OAuth2_refresh_token()
    {
        var config = Path.Combine(_dir.Path, "identity.json");
        RegistryOptions With(string token)
        {
            File.WriteAllText(config, "{\"auths\": {\"" + fx.Registry.Host + "\": {\"identitytoken\": \"" + token + "\"}}}");
            return new RegistryOptions { Credentials = new CredentialStore(config), CertsDirectories = [], RetryDelay = TimeSpan.FromMilliseconds(50) };
        }
        int before = fx.Registry.Tokens!.RefreshTokenPosts;
        var image = await _dir.NewStore().PullAsync($"{fx.Registry.Host}/tok/layered:t", With(TokenServer.IdentityToken));
        Assert.Equal(fx.Digest, image.Digest);
        Assert.True(fx.Registry.Tokens.RefreshTokenPosts > before);

        var e = await Assert.ThrowsAsync<RegistryException>(() => _dir.NewStore().PullAsync($"{fx.Registry.Host}/tok/layered:t", With("revoked-identity-token")));
        Assert.Equal(RegistryFailure.Unauthorized, e.Failure);
        Assert.Contains("refused the identity token", e.Message);
        Assert.DoesNotContain("revoked-identity-token", e.ToString());
    }

    [Fact]
    public async Task Pull_and_push_with_bearer_tokens_cached_per_scope()
    {
        var store = _dir.NewStore();
        int before = fx.Registry.Tokens!.Requests;
        var image = await store.PullAsync($"{fx.Registry.Host}/tok/layered:t", Options(RegistryServer.Password));
        Assert.Equal(fx.Digest, image.Digest);
        // One token for repository:tok/layered:pull serves the manifest, the config and both layers.
        Assert.Equal(1, fx.Registry.Tokens.Requests - before);

        var result = await store.PushAsync($"{fx.Registry.Host}/tok/layered:t", $"{fx.Registry.Host}/tok/pushed:v1", Options(RegistryServer.Password));
        Assert.Equal(fx.Digest, result.Digest);
        lock (fx.Registry.Tokens.Scopes)
            Assert.Contains("repository:tok/pushed:pull,push", fx.Registry.Tokens.Scopes);
        var seen = PlainRegistryFixture.Skopeo("inspect", "--tls-verify=false", "--creds", $"{RegistryServer.User}:{RegistryServer.Password}",
            "--format", "{{.Digest}}", $"docker://{fx.Registry.Host}/tok/pushed:v1").Trim();
        Assert.Equal(fx.Digest, seen);
    }

    [Fact]
    public async Task A_wrong_password_at_the_token_server_is_one_clear_line()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => _dir.NewStore().PullAsync($"{fx.Registry.Host}/tok/layered:t", Options("wrong-pass")));
        Assert.Equal(RegistryFailure.Unauthorized, e.Failure);
        Assert.Contains("wrong username or password", e.Message);
        Assert.DoesNotContain("wrong-pass", e.ToString());
        Assert.Equal("", StoreState.Of(_dir.ImagesDir).Blobs);
    }

    [Fact]
    public async Task Anonymous_access_is_refused_with_a_hint_to_log_in()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => _dir.NewStore().PullAsync($"{fx.Registry.Host}/tok/layered:t", Options(null)));
        Assert.Equal(RegistryFailure.Unauthorized, e.Failure);
        Assert.Contains("sandbox login", e.Message);
    }
}
