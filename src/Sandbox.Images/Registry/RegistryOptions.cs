namespace Sandbox.Images.Registry;

/// <summary>How Sandbox talks to registries: TLS, credentials, timeouts, parallelism.</summary>
public sealed class RegistryOptions
{
    /// <summary>
    /// Registries (host[:port]) whose TLS certificate is not verified (<c>--tls-verify=false</c> names the command's
    /// registry). Plain HTTP stays limited to loopback all the same.
    /// </summary>
    public ISet<string> InsecureRegistries { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A directory of CA certificates (<c>*.crt</c>) and client key pairs (<c>*.cert</c> + <c>*.key</c>) used for
    /// every registry of this command (podman's <c>--cert-dir</c>). When null, the per-registry directories are used:
    /// <c>HOST:PORT/</c> under each of <see cref="CertsDirectories"/>.
    /// </summary>
    public string? CertDir { get; init; }

    /// <summary>
    /// The roots of per-registry certificate directories, docker's and containers' conventions:
    /// <c>$SANDBOX_CERTS_D</c> when set, else <c>/etc/containers/certs.d</c>, <c>/etc/docker/certs.d</c>,
    /// <c>~/.config/containers/certs.d</c>.
    /// </summary>
    public IReadOnlyList<string> CertsDirectories { get; init; } = DefaultCertsDirectories();

    /// <summary>Where logins are read from (null: none, anonymous only).</summary>
    public CredentialStore? Credentials { get; init; } = new();

    /// <summary>Credentials given for this command only (e.g. by a library caller); they win over stored ones.</summary>
    public RegistryCredentials? ExplicitCredentials { get; init; }

    /// <summary>How long a connection may stay silent (connect, headers, or between two reads of a body) before it is given up.</summary>
    public TimeSpan IdleTimeout { get; init; } = DefaultIdleTimeout();

    /// <summary>Attempts per request for transient failures (5xx, 429, reset connections); blobs resume with a Range request.</summary>
    public int Attempts { get; init; } = 4;

    /// <summary>The first retry waits this long; each later one twice as long.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Pull: besides this host's image, every other platform of an image index (manifests, configs and layers, kept as
    /// blobs, not unpacked), so that a later push sends the index whole (<c>pull --all-platforms</c>; skopeo's
    /// <c>copy --all</c>).
    /// </summary>
    public bool AllPlatforms { get; init; }

    /// <summary>Blobs transferred at once.</summary>
    public int ParallelTransfers { get; init; } = 3;

    /// <summary>Blobs up to this size are uploaded in one PUT; larger ones in PATCH chunks of <see cref="ChunkSize"/>.</summary>
    public long MonolithicUploadLimit { get; init; } = 32L << 20;

    public long ChunkSize { get; init; } = 16L << 20;

    public static IReadOnlyList<string> DefaultCertsDirectories()
    {
        if (Environment.GetEnvironmentVariable("SANDBOX_CERTS_D") is { Length: > 0 } d) return [d];
        var home = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : "/root";
        return ["/etc/containers/certs.d", "/etc/docker/certs.d", Path.Combine(home, ".config", "containers", "certs.d")];
    }

    private static TimeSpan DefaultIdleTimeout() =>
        Environment.GetEnvironmentVariable("SANDBOX_REGISTRY_TIMEOUT") is { Length: > 0 } s
        && double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromSeconds(30);
}
