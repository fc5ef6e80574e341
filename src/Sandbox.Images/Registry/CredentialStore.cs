using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sandbox.Core;

namespace Sandbox.Images.Registry;

/// <summary>
/// Registry logins, kept where docker and podman keep them so that a user's existing logins work:
/// <c>$REGISTRY_AUTH_FILE</c> (containers' <c>auth.json</c>), <c>$XDG_RUNTIME_DIR/containers/auth.json</c>,
/// <c>$XDG_CONFIG_HOME/containers/auth.json</c>, and docker's <c>$DOCKER_CONFIG/config.json</c>
/// (<c>~/.docker/config.json</c>), read in that order. <c>login</c> writes to <c>--authfile</c>, else
/// <c>$REGISTRY_AUTH_FILE</c>, else docker's file, always with mode 0600; unknown keys of the file are kept.
/// A file whose <c>credHelpers</c> names a helper for the registry, or whose <c>credsStore</c> names a default one,
/// has its logins in that <see cref="CredentialHelper"/>: looked up there first, and stored and erased there by
/// <c>login</c> and <c>logout</c> (the file then keeps an empty <c>auths</c> entry, as docker writes it).
/// </summary>
public sealed class CredentialStore
{
    private const string DockerHubLegacyKey = "https://index.docker.io/v1/";

    private readonly string? _authFile;
    private readonly string? _helperSearchPath;

    /// <param name="authFile">An explicit auth file (<c>--authfile</c>): the only file read and written.</param>
    /// <param name="helperSearchPath">Where credential helpers are looked for, PATH-style (default <c>$PATH</c>).</param>
    public CredentialStore(string? authFile = null, string? helperSearchPath = null)
    {
        _authFile = string.IsNullOrEmpty(authFile) ? null : authFile;
        _helperSearchPath = helperSearchPath;
    }

    /// <summary>The files read, in order.</summary>
    public IReadOnlyList<string> SearchPath
    {
        get
        {
            if (_authFile is not null) return [_authFile];
            var list = new List<string>();
            if (Environment.GetEnvironmentVariable("REGISTRY_AUTH_FILE") is { Length: > 0 } f) list.Add(f);
            if (Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } run) list.Add(Path.Combine(run, "containers", "auth.json"));
            var configHome = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } x ? x : Path.Combine(Home, ".config");
            list.Add(Path.Combine(configHome, "containers", "auth.json"));
            list.Add(DockerConfigFile);
            return list;
        }
    }

    /// <summary>The file <c>login</c> writes.</summary>
    public string WriteTarget => _authFile
        ?? (Environment.GetEnvironmentVariable("REGISTRY_AUTH_FILE") is { Length: > 0 } f ? f : DockerConfigFile);

    private static string Home => Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : "/root";

    private static string DockerConfigFile =>
        Path.Combine(Environment.GetEnvironmentVariable("DOCKER_CONFIG") is { Length: > 0 } d ? d : Path.Combine(Home, ".docker"), "config.json");

    /// <summary>The keys a registry may be filed under (docker.io has its historical forms).</summary>
    private static IEnumerable<string> KeysFor(string registry)
    {
        if (registry == RegistryReference.DockerHub)
        {
            yield return DockerHubLegacyKey;
            yield return "docker.io";
            yield return "index.docker.io";
            yield return "registry-1.docker.io";
            yield return "https://index.docker.io/v1";
        }
        else
        {
            yield return registry;
            yield return "https://" + registry;
            yield return "http://" + registry;
        }
    }

    /// <summary>The stored login for <paramref name="registry"/> (host[:port]), or null.</summary>
    public RegistryCredentials? Find(string registry)
    {
        foreach (var file in SearchPath)
        {
            var root = ReadFile(file);
            if (root is null) continue;
            if (HelperFor(root, registry, file) is { } helper && helper.Get(ServerUrl(registry)) is { } fromHelper) return fromHelper;
            var auths = root["auths"] as JsonObject;
            if (auths is null) continue;
            foreach (var key in KeysFor(registry))
            {
                if (auths[key] is not JsonObject entry) continue;
                var creds = Decode(entry, file, key);
                if (creds is not null) return creds;
            }
        }
        return null;
    }

    private static RegistryCredentials? Decode(JsonObject entry, string file, string key)
    {
        if (entry["identitytoken"]?.GetValue<string>() is { Length: > 0 } token)
            return new RegistryCredentials("<token>", token) { Source = file };
        if (entry["auth"]?.GetValue<string>() is not { Length: > 0 } auth) return null;
        string decoded;
        try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth)); }
        catch (FormatException)
        {
            throw new SandboxException(SandboxFailure.InvalidSpec, $"{file}: the login for '{key}' is not valid base64");
        }
        int colon = decoded.IndexOf(':');
        if (colon <= 0) throw new SandboxException(SandboxFailure.InvalidSpec, $"{file}: the login for '{key}' is not user:password");
        return new RegistryCredentials(decoded[..colon], decoded[(colon + 1)..]) { Source = file };
    }

    /// <summary>
    /// The server address docker hands a helper: the registry's host[:port], or Docker Hub's historical
    /// <c>https://index.docker.io/v1/</c>.
    /// </summary>
    private static string ServerUrl(string registry) => registry == RegistryReference.DockerHub ? DockerHubLegacyKey : registry;

    /// <summary>The helper a file names for <paramref name="registry"/>: its <c>credHelpers</c> entry, else its <c>credsStore</c>.</summary>
    private CredentialHelper? HelperFor(JsonObject root, string registry, string file)
    {
        if (root["credHelpers"] is JsonObject helpers)
            foreach (var key in KeysFor(registry))
                if (helpers[key] is JsonValue v && v.TryGetValue<string>(out var name) && name.Length > 0)
                    return new CredentialHelper(name, file, _helperSearchPath);
        if (root["credsStore"] is JsonValue store && store.TryGetValue<string>(out var defaultName) && defaultName.Length > 0)
            return new CredentialHelper(defaultName, file, _helperSearchPath);
        return null;
    }

    /// <summary>Stores a login (replacing the registry's earlier one); returns where it went (the file, or the helper and its file).</summary>
    public string Save(string registry, RegistryCredentials credentials)
    {
        var file = WriteTarget;
        var root = ReadFile(file) ?? new JsonObject();
        if (root["auths"] is not JsonObject auths) root["auths"] = auths = new JsonObject();
        foreach (var k in KeysFor(registry)) auths.Remove(k);
        var key = registry == RegistryReference.DockerHub && !IsContainersAuthFile(file) ? DockerHubLegacyKey : registry;
        var helper = HelperFor(root, registry, file);
        if (helper is not null)
        {
            // The secret goes to the helper only; the file records the registry with no secret, as docker does.
            helper.Store(ServerUrl(registry), credentials);
            auths[key] = new JsonObject();
        }
        else
        {
            auths[key] = new JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Password}")) };
        }
        WriteFile(file, root);
        return helper is null ? file : $"{helper.Executable} (configured in {file})";
    }

    /// <summary>Removes the registry's login from every file that has one; returns those files.</summary>
    public IReadOnlyList<string> Remove(string registry)
    {
        var changed = new List<string>();
        foreach (var file in SearchPath.Distinct())
        {
            var root = ReadFile(file);
            if (root is null) continue;
            if (HelperFor(root, registry, file) is { } helper && helper.Erase(ServerUrl(registry))) changed.Add($"{helper.Executable} (configured in {file})");
            if (root["auths"] is not JsonObject auths) continue;
            bool any = false;
            foreach (var k in KeysFor(registry)) any |= auths.Remove(k);
            if (!any) continue;
            WriteFile(file, root);
            changed.Add(file);
        }
        return changed;
    }

    private static bool IsContainersAuthFile(string file) => Path.GetFileName(file) == "auth.json";

    private static JsonObject? ReadFile(string file)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(file); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException(SandboxFailure.Host, $"cannot read the auth file {file}: {e.Message}", e);
        }
        if (bytes.Length == 0) return null;
        try
        {
            return JsonNode.Parse(bytes) as JsonObject
                ?? throw new SandboxException(SandboxFailure.InvalidSpec, $"the auth file {file} is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new SandboxException(SandboxFailure.InvalidSpec, $"the auth file {file} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Writes atomically, mode 0600 from creation (never briefly readable by others), in a 0700 directory when new.</summary>
    private static void WriteFile(string file, JsonObject root)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(file))!;
        if (!Directory.Exists(dir)) Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(file)}.{Environment.ProcessId}.tmp");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            };
            using (var f = new FileStream(tmp, options))
            {
                using (var w = new Utf8JsonWriter(f, new JsonWriterOptions { Indented = true }))
                    root.WriteTo(w);
                f.Write("\n"u8);
                f.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(tmp, file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw new SandboxException(SandboxFailure.Host, $"cannot write the auth file {file}: {e.Message}", e);
        }
    }
}
