// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MatchOracle: final results of sports matches, accepted only with k-of-n signatures.
/// @notice Each node of a Parlay sport cluster holds one registered signer key. A result is
/// stored when at least `threshold` distinct registered signers signed the same EIP-712
/// `Result` message. A match is reported at most once; later reports revert early and cheaply.
/// @dev Signatures are (r, s) pairs with s in the lower half of the curve order (EIP-2), so that
/// one signer's signature cannot be turned into a second valid one; their v values (27 or 28)
/// travel as one bit each in `vBits` (bit i set: v = 28), which saves a calldata word per
/// signature. Signers are counted by identity in a bitmap, never by signature bytes.
/// Gas: the threshold is kept in every signer's index slot, which submitResult reads anyway,
/// so that a submission does not pay a separate cold SLOAD for it.
contract MatchOracle {
    /// Outcome of a match: a final score, or void (cancelled or abandoned; no score).
    uint8 public constant STATUS_FINAL = 1;
    uint8 public constant STATUS_VOID = 2;
    uint256 public constant MAX_SIGNERS = 32;

    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 public constant RESULT_TYPEHASH =
        keccak256("Result(uint256 matchId,uint8 status,uint16 home,uint16 away)");
    bytes32 private constant NAME_HASH = keccak256("Parlay MatchOracle");
    bytes32 private constant VERSION_HASH = keccak256("1");
    uint256 private constant HALF_ORDER =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    struct Sig {
        bytes32 r;
        bytes32 s;
    }

    /// One storage slot per reported match.
    struct Result {
        uint8 status;
        uint16 home;
        uint16 away;
        uint64 reportedAt;
        uint64 blockNumber;
    }

    address public owner;
    uint8 public threshold;
    uint32 public configVersion;
    address[] private signerList;
    /// For a signer: (threshold << 8) | its 1-based position in signerList. 0: not a signer.
    mapping(address => uint256) private signerInfo;
    mapping(uint256 => Result) private results;

    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedDomainSeparator;

    event SignersChanged(address[] signers, uint8 threshold, uint32 configVersion);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event ResultReported(uint256 indexed matchId, uint8 status, uint16 home, uint16 away);

    error NotOwner();
    error BadSignerSet();
    error BadThreshold(uint256 threshold, uint256 signers);
    error AlreadyReported(uint256 matchId);
    error BadOutcome();
    error NotEnoughSignatures(uint256 given, uint256 threshold);
    error HighS(uint256 index);
    error InvalidSignature(uint256 index);
    error UnknownSigner(address signer);
    error DuplicateSigner(address signer);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor(address[] memory signers_, uint8 threshold_) {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
        cachedChainId = block.chainid;
        cachedDomainSeparator = _buildDomainSeparator();
        _setSigners(signers_, threshold_);
    }

    // ---------------------------------------------------------------- results

    /// Store the result of `matchId` if at least `threshold` distinct registered signers signed
    /// it. Checks run cheapest first: a match already reported reverts before any signature work.
    function submitResult(uint256 matchId, uint8 status, uint16 home, uint16 away,
                          Sig[] calldata sigs, uint256 vBits) external {
        if (results[matchId].status != 0) revert AlreadyReported(matchId);
        if (status == STATUS_VOID) {
            if (home != 0 || away != 0) revert BadOutcome();
        } else if (status != STATUS_FINAL) {
            revert BadOutcome();
        }
        uint256 n = sigs.length;
        if (n == 0) revert NotEnoughSignatures(0, threshold);

        bytes32 digest = digestOf(matchId, status, home, away);
        uint256 seen;
        uint256 info;
        for (uint256 i = 0; i < n; ++i) {
            Sig calldata sg = sigs[i];
            if (uint256(sg.s) > HALF_ORDER) revert HighS(i);
            address signer = ecrecover(digest, uint8(27 + ((vBits >> i) & 1)), sg.r, sg.s);
            if (signer == address(0)) revert InvalidSignature(i);
            info = signerInfo[signer];
            if (info == 0) revert UnknownSigner(signer);
            uint256 bit = 1 << (info & 0xff);
            if (seen & bit != 0) revert DuplicateSigner(signer);
            seen |= bit;
        }
        uint256 k = info >> 8; // every signer's slot carries the current threshold
        if (n < k) revert NotEnoughSignatures(n, k);
        results[matchId] = Result(status, home, away, uint64(block.timestamp), uint64(block.number));
        emit ResultReported(matchId, status, home, away);
    }

    /// The stored result; status 0 means "not reported".
    function result(uint256 matchId) external view
        returns (uint8 status, uint16 home, uint16 away, uint64 reportedAt, uint64 blockNumber)
    {
        Result memory r = results[matchId];
        return (r.status, r.home, r.away, r.reportedAt, r.blockNumber);
    }

    /// The EIP-712 digest the signers sign for this outcome.
    function digestOf(uint256 matchId, uint8 status, uint16 home, uint16 away)
        public view returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(RESULT_TYPEHASH, matchId, status, home, away));
        return keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
    }

    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        if (block.chainid == cachedChainId) return cachedDomainSeparator;
        return _buildDomainSeparator();
    }

    // ---------------------------------------------------------------- membership

    function getSigners() external view returns (address[] memory signers, uint8 threshold_) {
        return (signerList, threshold);
    }

    function isSigner(address a) external view returns (bool) {
        return signerInfo[a] != 0;
    }

    /// Replace the whole signer set and threshold (a membership change of the sport cluster).
    function setSigners(address[] calldata signers_, uint8 threshold_) external onlyOwner {
        _setSigners(signers_, threshold_);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert NotOwner();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function _setSigners(address[] memory signers_, uint8 threshold_) private {
        uint256 n = signers_.length;
        if (n == 0 || n > MAX_SIGNERS) revert BadSignerSet();
        // A majority at least: two disjoint quorums could otherwise sign different results.
        if (threshold_ == 0 || threshold_ > n || 2 * uint256(threshold_) <= n) {
            revert BadThreshold(threshold_, n);
        }
        for (uint256 i = 0; i < signerList.length; ++i) delete signerInfo[signerList[i]];
        delete signerList;
        for (uint256 i = 0; i < n; ++i) {
            address a = signers_[i];
            if (a == address(0) || signerInfo[a] != 0) revert BadSignerSet();
            signerInfo[a] = (uint256(threshold_) << 8) | (i + 1);
            signerList.push(a);
        }
        threshold = threshold_;
        configVersion += 1;
        emit SignersChanged(signers_, threshold_, configVersion);
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid,
                                    address(this)));
    }
}
