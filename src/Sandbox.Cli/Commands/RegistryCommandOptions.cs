using Sandbox.Images.Registry;

namespace Sandbox.Cli;

/// <summary>The registry options <c>pull</c>, <c>push</c>, <c>login</c> and <c>run --pull</c> share (podman's names).</summary>
public static class RegistryCommandOptions
{
    public static readonly OptionSpec[] Specs =
    [
        new(true, "--tls-verify"),
        new(true, "--cert-dir"),
        new(true, "--authfile"),
    ];

    public const string Usage = """
          --tls-verify=false   Do not verify the registry's TLS certificate (HTTPS is still used)
          --cert-dir DIR       CA certificates (*.crt) and client certificates (*.cert + *.key) for the registry
          --authfile FILE      Logins file (default $REGISTRY_AUTH_FILE, containers' auth.json, ~/.docker/config.json)
        """;

    /// <summary>Builds the options for a command whose registry is <paramref name="registry"/>.</summary>
    public static RegistryOptions Build(ParsedArgs parsed, string registry, RegistryCredentials? explicitCredentials = null)
    {
        var insecure = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        switch (parsed.Value("--tls-verify"))
        {
            case null or "true": break;
            case "false": insecure.Add(registry); break;
            case var other: throw new UsageException($"invalid value for --tls-verify: '{other}' (true or false)");
        }
        var certDir = parsed.Value("--cert-dir");
        if (certDir is not null && !Directory.Exists(certDir)) throw new UsageException($"--cert-dir {certDir}: no such directory");
        return new RegistryOptions
        {
            InsecureRegistries = insecure,
            CertDir = certDir,
            Credentials = new CredentialStore(parsed.Value("--authfile")),
            ExplicitCredentials = explicitCredentials,
            AllPlatforms = parsed.Has("--all-platforms"), // pull's own option
        };
    }
}
