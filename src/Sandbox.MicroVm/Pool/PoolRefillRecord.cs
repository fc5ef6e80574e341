using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sandbox.MicroVm.Pool;

/// <summary>
/// A background refill (<c>pool fill --refill</c>) as its process describes it in <c>run/&lt;id&gt;/refill.json</c>:
/// it keeps <see cref="Count"/> members of its shape in the pool, within the pool's memory budget.
/// </summary>
public sealed class PoolRefillRecord
{
    public const string FileName = "refill.json";
    public const string SocketName = "refill.sock";

    public string Id { get; set; } = "";
    public string Image { get; set; } = "";
    public string ImageDigest { get; set; } = "";
    /// <summary>The run's --memory in bytes as given to <c>pool fill</c> (null: the default), passed to each holder.</summary>
    public long? MemoryBytes { get; set; }
    public double? Cpus { get; set; }
    /// <summary>The guest RAM of each member, MiB (what the budget counts).</summary>
    public long MemoryMiB { get; set; }
    public int GuestCpus { get; set; }
    public int Count { get; set; }
    public bool Paused { get; set; }
    public int Pid { get; set; }
    public DateTimeOffset Created { get; set; }
    /// <summary>Why the refill is not booting though members are missing (the budget is full, a boot failed); null when not.</summary>
    public string? Waiting { get; set; }

    /// <summary>Whether <paramref name="member"/> is one of the members this refill keeps (its shape, any guest build).</summary>
    public bool Keeps(PoolMemberRecord member) =>
        member.ImageDigest == ImageDigest && member.MemoryMiB == MemoryMiB && member.Cpus == GuestCpus;

    public static PoolRefillRecord? Load(string dir)
    {
        try { return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(dir, FileName)), PoolRefillJsonContext.Default.PoolRefillRecord); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    public void Save(string dir)
    {
        var temp = Path.Combine(dir, FileName + ".tmp");
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(this, PoolRefillJsonContext.Default.PoolRefillRecord));
        File.Move(temp, Path.Combine(dir, FileName), overwrite: true);
    }
}

[JsonSourceGenerationOptions(WriteIndented = false, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(PoolRefillRecord))]
public sealed partial class PoolRefillJsonContext : JsonSerializerContext;
